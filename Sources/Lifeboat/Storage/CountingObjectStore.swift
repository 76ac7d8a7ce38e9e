import Foundation

/// Counts every request made through it, by verb, and the bytes uploaded and downloaded.
///
/// A call counts when it is made, whether or not it succeeds. Put it directly above the store
/// or fault injector and below any retrying layer, so that every attempt is counted. Thread-safe.
public final class CountingObjectStore: ObjectStoreDecorator {
  public let base: ObjectStore
  private let lock = NSLock()
  private var current = StoreRequestCounts()

  public var location: String { base.location }

  public init(base: ObjectStore) {
    self.base = base
    base.layer(MultipartReporting.self)?.partObserver = { [weak self] _ in
      self?.update { $0.part += 1 }
    }
  }

  /// The counts so far.
  public var counts: StoreRequestCounts {
    lock.lock()
    defer { lock.unlock() }
    return current
  }

  func update(_ change: (inout StoreRequestCounts) -> Void) {
    lock.lock()
    defer { lock.unlock() }
    change(&current)
  }

  public func makeWriter(key: String) throws -> ObjectWriter {
    try makeWriter(key: key, sizeHint: nil)
  }

  public func makeWriter(key: String, sizeHint: Int64?) throws -> ObjectWriter {
    update { $0.put += 1 }
    return CountingWriter(base: try base.makeWriter(key: key, sizeHint: sizeHint), store: self)
  }

  public func abortStaleUploads(olderThan age: TimeInterval, dryRun: Bool) throws -> Int {
    try base.abortStaleUploads(olderThan: age, dryRun: dryRun)
  }

  public func read(key: String, range: ClosedRange<Int64>?, into sink: ByteSink) throws {
    update { $0.get += 1 }
    try base.read(key: key, range: range, into: DownloadCountingSink(next: sink, store: self))
  }

  public func head(key: String) throws -> ObjectInfo? {
    update { $0.head += 1 }
    return try base.head(key: key)
  }

  public func list(prefix: String) throws -> [ObjectInfo] {
    update { $0.list += 1 }
    return try base.list(prefix: prefix)
  }

  public func delete(key: String) throws {
    update { $0.delete += 1 }
    try base.delete(key: key)
  }
}

private final class CountingWriter: ObjectWriter {
  private let base: ObjectWriter
  private let store: CountingObjectStore

  init(base: ObjectWriter, store: CountingObjectStore) {
    self.base = base
    self.store = store
  }

  func write(_ bytes: UnsafeRawBufferPointer) throws {
    store.update { $0.bytesUploaded += Int64(bytes.count) }
    try base.write(bytes)
  }

  func finish() throws { try base.finish() }
  func commit() throws -> ObjectInfo { try base.commit() }
  func abort() { base.abort() }
}

private final class DownloadCountingSink: ByteSink {
  private let next: ByteSink
  private let store: CountingObjectStore

  init(next: ByteSink, store: CountingObjectStore) {
    self.next = next
    self.store = store
  }

  func write(_ bytes: UnsafeRawBufferPointer) throws {
    store.update { $0.bytesDownloaded += Int64(bytes.count) }
    try next.write(bytes)
  }

  func finish() throws { try next.finish() }
}
