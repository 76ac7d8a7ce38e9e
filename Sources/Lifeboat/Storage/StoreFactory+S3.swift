import Foundation
import LifeboatSigV4

extension StoreFactory {
  /// Opens `s3://bucket/prefix` with settings from `[s3]` (and their flags and environment
  /// variables), then the AWS credential chain: `AWS_*` variables, `AWS_PROFILE` and
  /// `~/.aws/credentials` / `~/.aws/config`.
  static func openS3(url: String, configuration: Configuration, environment: [String: String],
    logger: Logger) throws -> ObjectStore
  {
    var explicit: AWSCredentials?
    let keyID = configuration.string("s3.access_key_id")
    let secret = configuration.string("s3.secret_access_key")
    if let keyID, let secret {
      explicit = AWSCredentials(
        accessKeyId: keyID, secretAccessKey: secret, sessionToken: configuration.string("s3.session_token"))
    } else if keyID != nil || secret != nil {
      throw LifeboatError(
        .configuration, "[s3] sets only one of access_key_id and secret_access_key",
        hint: "set both, or neither to use the AWS_* variables or the AWS profile")
    }

    var s3 = try S3Configuration.resolve(
      url: url, environment: environment, credentials: explicit,
      region: configuration.string("s3.region"), endpoint: configuration.string("s3.endpoint"))
    Redaction.register(secret: s3.credentials.secretAccessKey)
    if let token = s3.credentials.sessionToken { Redaction.register(secret: token) }

    if let pathStyle = try configuration.bool("s3.path_style") {
      s3.addressingStyle = pathStyle ? .path : .virtualHosted
    }
    if let bundle = configuration.string("s3.ca_bundle") { s3.caBundlePath = bundle }
    if let partSize = try configuration.size("s3.part_size") {
      // S3's minimum part is 5 MiB; a smaller setting is raised rather than failing at upload.
      s3.partSize = max(partSize, 5 << 20)
      s3.multipartThreshold = s3.partSize
    }
    if let inFlight = try configuration.integer("s3.parts_in_flight") { s3.partsInFlight = inFlight }
    if let attempts = try configuration.integer("s3.max_attempts") { s3.maxAttempts = attempts }
    if let storageClass = configuration.string("s3.storage_class") { s3.storageClass = storageClass }
    switch configuration.string("s3.sse") {
    case "AES256": s3.serverSideEncryption = .aes256
    case "aws:kms": s3.serverSideEncryption = .kms(keyId: configuration.string("s3.sse_kms_key_id"))
    default: break
    }
    try s3.validate()

    let store = try S3ObjectStore(configuration: s3, log: { level, line in
      switch level {
      case .debug: logger.trace(line)
      // Retries and breaker changes: in the log file, but a run that recovers stays quiet under
      // cron. The error that ends a run is reported on its own.
      case .info: logger.info(line)
      case .warning: logger.warning(line)
      }
    })
    logger.debug("S3 repository", [
      ("endpoint", .string(s3.endpoint)), ("bucket", .string(s3.bucket)), ("prefix", .string(s3.prefix)),
      ("region", .string(s3.region)), ("addressing", .string(s3.addressingStyle.rawValue)),
      ("part_size", .int(s3.partSize)), ("parts_in_flight", .int(Int64(s3.partsInFlight))),
    ])
    return store
  }
}

extension S3ObjectStore: RetryReporting, CircuitBreakerReporting {
  public func makeWriter(key: String, sizeHint: Int64?) throws -> ObjectWriter {
    try makeWriter(key: key, expectedSize: sizeHint)
  }

  public var retryCount: Int { counters.retries }

  public var breakerState: CircuitBreakerState {
    switch circuitBreaker.state {
    case .closed: return .closed
    case .halfOpen: return .halfOpen
    case .open: return .open
    }
  }

  public var breakerOpenings: Int { circuitBreaker.openings }
}

extension S3ObjectStore {
  /// Aborts multipart uploads under the prefix started more than `age` seconds ago, so parts of
  /// crashed runs stop being billed. With `dryRun` only counts them.
  public func abortStaleUploads(olderThan age: TimeInterval, dryRun: Bool) throws -> Int {
    if dryRun {
      let cutoff = Date().addingTimeInterval(-age)
      return try listMultipartUploads().filter { ($0.initiated ?? .distantFuture) < cutoff }.count
    }
    let aborted: [S3MultipartUpload] = try abortStaleUploads(olderThan: age)
    return aborted.count
  }
}
