import Foundation
import LifeboatSigV4

/// An `ObjectStore` in an S3 bucket, under a key prefix, over libcurl with AWS Signature
/// Version 4.
///
/// Keys are relative to `S3Configuration.prefix`, which is prepended to each of them as-is.
/// Every byte of a key is percent-encoded once and nothing is normalised, so keys may contain
/// spaces, `+ ~ = & %`, non-ASCII letters, `.`/`..` segments and `//`.
///
/// Requests are retried with exponential backoff and full jitter on 5xx responses, throttling,
/// timeouts and dropped connections, and pass through a circuit breaker. Errors leave the
/// store as `StorageError` (or `LifeboatError(.dataError)` when an upload fails its
/// verification). Thread-safe.
public final class S3ObjectStore: ObjectStore, MultipartReporting, @unchecked Sendable {
  public let configuration: S3Configuration
  /// Called after each part upload with its size, from the uploading thread.
  public var partObserver: ((_ bytes: Int64) -> Void)?
  /// `s3://bucket/prefix at endpoint`, free of secrets.
  public let location: String
  let client: S3Client

  /// Creates a store; no request is sent until the first operation.
  ///
  /// - Parameters:
  ///   - log: receives retries, circuit breaker changes, clock skew warnings and, at
  ///     `.debug`, every request. Lines never contain credentials or signatures.
  ///   - clock: the local time used for signing; injectable for tests.
  /// - Throws: `LifeboatError(.configuration)` for an invalid configuration.
  public convenience init(
    configuration: S3Configuration, log: @escaping S3LogHandler = { _, _ in },
    clock: @escaping () -> Date = Date.init
  ) throws {
    try self.init(
      configuration: configuration, log: log, clock: clock,
      sleep: { Thread.sleep(forTimeInterval: $0) })
  }

  init(
    configuration: S3Configuration, log: @escaping S3LogHandler, clock: @escaping () -> Date,
    sleep: @escaping (TimeInterval) -> Void
  ) throws {
    client = try S3Client(configuration: configuration, clock: clock, sleep: sleep, log: log)
    self.configuration = configuration
    location =
      "s3://\(configuration.bucket)/\(configuration.prefix) at \(client.endpoint.displayURL)"
  }

  /// Requests sent per verb and retries, for metrics.
  public var counters: S3RequestCounters { client.counters }
  /// The breaker all requests pass, except multipart clean-up.
  public var circuitBreaker: CircuitBreaker { client.breaker }

  public func makeWriter(key: String) throws -> ObjectWriter {
    try makeWriter(key: key, expectedSize: nil)
  }

  /// Starts a write of `key` whose part size is planned for `expectedSize` bytes.
  ///
  /// Without an expected size, parts are planned for `S3Configuration.assumedObjectSize`
  /// bytes and grow as the object approaches it (see `S3PartSchedule`).
  /// - Throws: `StorageError.invalidKey` for an invalid key, or `S3PartPlanner.TooLargeError`
  ///   when `expectedSize` exceeds 5 TiB, before any request.
  public func makeWriter(key: String, expectedSize: Int64?) throws -> S3ObjectWriter {
    let fullKey = try self.fullKey(key)
    return try S3ObjectWriter(store: self, key: key, fullKey: fullKey, expectedSize: expectedSize)
  }

  public func read(key: String, range: ClosedRange<Int64>?, into sink: ByteSink) throws {
    let fullKey = try self.fullKey(key)
    if let range, range.lowerBound < 0 {
      throw StorageError.invalidKey(key: key, reason: "negative byte range \(range)")
    }
    do {
      try client.getObject(key: fullKey, range: range, into: sink)
    } catch {
      throw mapError(error, key: key)
    }
  }

  public func head(key: String) throws -> ObjectInfo? {
    let fullKey = try self.fullKey(key)
    do {
      return try client.headObject(key: fullKey, relativeKey: key)
    } catch {
      throw mapError(error, key: key)
    }
  }

  public func list(prefix: String) throws -> [ObjectInfo] {
    let fullPrefix = configuration.prefix + prefix
    var objects: [ObjectInfo] = []
    var continuation: [(name: String, value: String?)] = []
    do {
      repeat {
        let page = try client.listObjectsPage(prefix: fullPrefix, continuation: continuation)
        for var object in page.entries where object.key.hasPrefix(configuration.prefix) {
          object.key = String(object.key.dropFirst(configuration.prefix.count))
          objects.append(object)
        }
        continuation = page.next
      } while !continuation.isEmpty
    } catch {
      throw mapError(error, key: nil)
    }
    // S3 lists in UTF-8 byte order; sorting keeps that order for servers that do not.
    objects.sort { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
    return objects
  }

  public func delete(key: String) throws {
    let fullKey = try self.fullKey(key)
    do {
      try client.deleteObject(key: fullKey)
    } catch {
      throw mapError(error, key: key)
    }
  }

  /// Returns a URL that lets anyone holding it GET `key` for `expires` seconds, without
  /// credentials. It contains a signature, so treat it as a secret.
  ///
  /// - Parameter expires: 1 second to 7 days (604,800 seconds), the limit of SigV4.
  public func presignedURL(key: String, expires: TimeInterval) throws -> String {
    let fullKey = try self.fullKey(key)
    let seconds = Int(expires.rounded())
    guard (1...604_800).contains(seconds) else {
      throw LifeboatError(
        .usage, "presigned URL expiry \(seconds) s must be 1 to 604800 s (7 days)")
    }
    let (host, path) = client.endpoint.target(key: fullKey)
    let request = SigV4Request(
      method: "GET", host: host, encodedPath: path, payloadHash: "UNSIGNED-PAYLOAD")
    let query = client.signer.presignedQuery(
      request, date: client.signingDate(), expires: seconds)
    return "\(client.endpoint.scheme)://\(host)\(path)?\(query)"
  }

  /// Returns the multipart uploads under the store's prefix that were neither completed nor
  /// aborted, with keys relative to the prefix.
  public func listMultipartUploads() throws -> [S3MultipartUpload] {
    var uploads: [S3MultipartUpload] = []
    var markers: [(name: String, value: String?)] = []
    do {
      repeat {
        let page = try client.listMultipartUploadsPage(
          prefix: configuration.prefix, markers: markers)
        for var upload in page.entries where upload.key.hasPrefix(configuration.prefix) {
          upload.key = String(upload.key.dropFirst(configuration.prefix.count))
          uploads.append(upload)
        }
        markers = page.next
      } while !markers.isEmpty
    } catch {
      throw mapError(error, key: nil)
    }
    return uploads
  }

  /// Aborts the multipart uploads under the prefix that started more than `age` seconds ago,
  /// by the server's clock, and returns them. Their parts stop being billed.
  ///
  /// Uploads without an initiation time are left alone. A younger upload may belong to a
  /// backup still running.
  @discardableResult
  public func abortStaleUploads(olderThan age: TimeInterval) throws -> [S3MultipartUpload] {
    let cutoff = client.signingDate().addingTimeInterval(-age)
    let stale = try listMultipartUploads().filter { upload in
      guard let initiated = upload.initiated else { return false }
      return initiated < cutoff
    }
    for upload in stale {
      do {
        try client.abortMultipartUpload(
          key: configuration.prefix + upload.key, uploadId: upload.uploadId)
      } catch {
        throw mapError(error, key: upload.key)
      }
      client.log(
        .info, "aborted stale S3 multipart upload \(upload.uploadId) of \(upload.key)")
    }
    return stale
  }

  /// Returns the key with the prefix, or throws `StorageError.invalidKey`.
  func fullKey(_ key: String) throws -> String {
    if key.isEmpty { throw StorageError.invalidKey(key: key, reason: "the key is empty") }
    let fullKey = configuration.prefix + key
    if fullKey.utf8.count > 1024 {
      throw StorageError.invalidKey(
        key: key,
        reason: "with the prefix it is \(fullKey.utf8.count) bytes; S3 allows at most 1024")
    }
    return fullKey
  }

  /// Returns the `StorageError` for an `S3Error` or an open breaker; other errors (a sink's,
  /// a verification failure) pass through unchanged.
  func mapError(_ error: Error, key: String?) -> Error {
    if let open = error as? CircuitBreaker.OpenError {
      return StorageError.unavailable(location: location, reason: open.description)
    }
    guard let error = error as? S3Error else { return error }
    let code = error.code ?? ""
    switch (error.status, code) {
    case (_, "InvalidAccessKeyId"), (_, "SignatureDoesNotMatch"):
      return StorageError.accessDenied(
        location: location,
        reason:
          "the server refused the credentials (\(code), access key id "
          + "\(configuration.credentials.accessKeyId)); check the access key id and secret "
          + "access key\(error.requestId.map { " (request id \($0))" } ?? "")")
    case (_, "InvalidToken"), (_, "ExpiredToken"), (_, "TokenRefreshRequired"):
      return StorageError.accessDenied(
        location: location,
        reason: "the server refused the session token (\(code)): \(error.message)")
    case (403, _):
      return StorageError.accessDenied(location: location, reason: error.description)
    case (_, "NoSuchBucket"):
      return StorageError.unavailable(
        location: location,
        reason:
          "bucket \(configuration.bucket) does not exist at \(client.endpoint.displayURL); "
          + "check the bucket name and region (\(configuration.region))")
    case (_, "NoSuchKey"):
      return StorageError.notFound(key: key ?? "")
    case (404, _) where key != nil && code.isEmpty:
      return StorageError.notFound(key: key ?? "")
    case (_, "KeyTooLongError"):
      return StorageError.invalidKey(key: key ?? "", reason: error.message)
    default:
      return StorageError.unavailable(location: location, reason: error.description)
    }
  }
}
