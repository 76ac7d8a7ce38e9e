import Foundation

/// Opens the object store that a repository URL names.
public enum StoreFactory {
  /// - Parameters:
  ///   - url: `file:///absolute/path` or `s3://bucket/prefix`.
  ///   - create: create a missing local repository directory (backups do; reads do not).
  public static func open(url: String, configuration: Configuration, environment: [String: String],
    create: Bool, logger: Logger) throws -> ObjectStore
  {
    if url.hasPrefix("file://") {
      let path = String(url.dropFirst("file://".count))
      guard path.hasPrefix("/") else {
        throw LifeboatError(
          .configuration, "invalid repository URL '\(url)': a file URL needs an absolute path",
          hint: "write file:///absolute/path (three slashes)")
      }
      let decoded = path.removingPercentEncoding ?? path
      do {
        return try LocalObjectStore(root: normalizeSlashes(decoded), create: create)
      } catch let error as StorageError {
        throw LifeboatError(
          .unavailable, "repository \(url) cannot be used: \(error)",
          hint: create ? "check that the directory can be created and written" : "check the repository URL; run a backup first to create it")
      }
    }
    if url.hasPrefix("s3://") {
      return try openS3(url: url, configuration: configuration, environment: environment, logger: logger)
    }
    if url.hasPrefix("/") {
      throw LifeboatError(
        .configuration, "invalid repository URL '\(url)'", hint: "write it as file://\(url)")
    }
    throw LifeboatError(
      .configuration, "invalid repository URL '\(url)'",
      hint: "use file:///absolute/path or s3://bucket/prefix")
  }
}
