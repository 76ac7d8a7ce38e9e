import Foundation

/// Makes a share of the calls to its base store fail with `StorageError.unavailable`, as an
/// unreachable store would, without reaching the base. For drills and tests only.
///
/// A failing `makeWriter` fails before anything is written, so it stands for a whole upload
/// that failed.
public final class FaultInjectingObjectStore: ObjectStoreDecorator {
  public let base: ObjectStore
  public let injector: FaultInjector

  public var location: String { base.location }

  public init(base: ObjectStore, injector: FaultInjector) {
    self.base = base
    self.injector = injector
  }

  private func check(_ kind: FaultPlan.Kind, _ key: String) throws {
    if injector.shouldFail(kind) {
      throw StorageError.unavailable(location: location, reason: "injected fault (\(kind.rawValue) \(key))")
    }
  }

  public func abortStaleUploads(olderThan age: TimeInterval, dryRun: Bool) throws -> Int {
    try base.abortStaleUploads(olderThan: age, dryRun: dryRun)
  }

  public func makeWriter(key: String) throws -> ObjectWriter {
    try makeWriter(key: key, sizeHint: nil)
  }

  public func makeWriter(key: String, sizeHint: Int64?) throws -> ObjectWriter {
    try check(.put, key)
    return try base.makeWriter(key: key, sizeHint: sizeHint)
  }

  public func read(key: String, range: ClosedRange<Int64>?, into sink: ByteSink) throws {
    try check(.get, key)
    try base.read(key: key, range: range, into: sink)
  }

  public func head(key: String) throws -> ObjectInfo? {
    try check(.head, key)
    return try base.head(key: key)
  }

  public func list(prefix: String) throws -> [ObjectInfo] {
    try check(.list, prefix)
    return try base.list(prefix: prefix)
  }

  public func delete(key: String) throws {
    try check(.delete, key)
    try base.delete(key: key)
  }
}
