import Foundation

/// Metadata of one stored object.
public struct ObjectInfo: Sendable, Equatable {
  public var key: String
  public var size: Int64
  public var lastModified: Date?
  public var etag: String?

  public init(key: String, size: Int64, lastModified: Date? = nil, etag: String? = nil) {
    self.key = key
    self.size = size
    self.lastModified = lastModified
    self.etag = etag
  }
}

/// A write in progress. Nothing is visible under the key until `commit` returns.
public protocol ObjectWriter: ByteSink {
  /// Makes the object visible under its key and returns what was stored.
  /// Calls `finish` first if the caller has not.
  func commit() throws -> ObjectInfo
  /// Discards everything written. Safe to call after a failure, and more than once.
  func abort()
}

/// A flat key-value store of objects: a local directory or an S3 bucket.
///
/// Keys are relative, `/`-separated, and never normalised. Decorators (retry, circuit
/// breaker, fault injection, request counting) wrap any store.
public protocol ObjectStore: AnyObject {
  /// A human-readable location, free of secrets, for messages (`file:///srv/backups`).
  var location: String { get }

  /// Starts a streaming write of `key`.
  func makeWriter(key: String) throws -> ObjectWriter
  /// Streams the object (or `range` of it, as inclusive byte offsets) to `sink`
  /// without calling `sink.finish()`.
  func read(key: String, range: ClosedRange<Int64>?, into sink: ByteSink) throws
  /// Returns the object's metadata, or nil when there is no object under `key`.
  func head(key: String) throws -> ObjectInfo?
  /// Lists every object whose key starts with `prefix`, in key order.
  func list(prefix: String) throws -> [ObjectInfo]
  /// Deletes the object. Deleting a missing key is not an error.
  func delete(key: String) throws
  /// Aborts uploads that were started more than `age` seconds ago and never completed, such as
  /// the S3 multipart uploads of a run that was killed, and returns how many there were. With
  /// `dryRun` set it only counts them.
  ///
  /// The default does nothing and returns 0, so a decorator must forward this call to the store
  /// it wraps, or the uploads of that store are never cleaned up.
  func abortStaleUploads(olderThan age: TimeInterval, dryRun: Bool) throws -> Int

  /// Starts a streaming write of `key` whose size is at most about `sizeHint` bytes. S3 plans
  /// its multipart part size from it, to stay within 10,000 parts. The default ignores the hint,
  /// so a decorator must forward this call too.
  func makeWriter(key: String, sizeHint: Int64?) throws -> ObjectWriter
}

extension ObjectStore {
  public func abortStaleUploads(olderThan age: TimeInterval, dryRun: Bool) throws -> Int { 0 }

  public func makeWriter(key: String, sizeHint: Int64?) throws -> ObjectWriter {
    try makeWriter(key: key)
  }

  /// Stores `data` under `key` in one write.
  @discardableResult
  public func put(key: String, data: [UInt8]) throws -> ObjectInfo {
    let writer = try makeWriter(key: key)
    do {
      try writer.write(data)
      return try writer.commit()
    } catch {
      writer.abort()
      throw error
    }
  }

  /// Reads the whole object into memory. For small objects such as manifests.
  public func get(key: String) throws -> [UInt8] {
    let collector = ByteCollector()
    try read(key: key, range: nil, into: collector)
    return collector.bytes
  }
}

/// A sink that keeps everything written to it in memory.
public final class ByteCollector: ByteSink {
  public private(set) var bytes: [UInt8] = []
  public init() {}
  public func write(_ buffer: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: buffer) }
  public func finish() throws {}
}

/// A sink that drops everything written to it.
public final class DiscardingSink: ByteSink {
  public init() {}
  public func write(_ buffer: UnsafeRawBufferPointer) throws {}
  public func finish() throws {}
}

/// Errors every store reports the same way, so callers can act on them.
public enum StorageError: Error, CustomStringConvertible {
  case notFound(key: String)
  /// The store cannot be reached or refused service (timeouts, 5xx after retries, breaker open).
  case unavailable(location: String, reason: String)
  /// The store rejected the credentials (403 on an authenticated call).
  case accessDenied(location: String, reason: String)
  case invalidKey(key: String, reason: String)

  public var description: String {
    switch self {
    case .notFound(let key): return "object \(key) not found"
    case .unavailable(let location, let reason): return "storage \(location) unavailable: \(reason)"
    case .accessDenied(let location, let reason): return "access to \(location) denied: \(reason)"
    case .invalidKey(let key, let reason): return "invalid object key \(key): \(reason)"
    }
  }
}
