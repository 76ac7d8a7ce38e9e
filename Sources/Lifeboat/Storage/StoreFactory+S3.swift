extension StoreFactory {
  static func openS3(url: String, configuration: Configuration, environment: [String: String],
    logger: Logger) throws -> ObjectStore
  {
    throw LifeboatError(.configuration, "s3:// repositories are not supported by this build")
  }
}
