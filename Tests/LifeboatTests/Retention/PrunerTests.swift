import Foundation
import Lifeboat
import Testing

/// A decorator over a real store that records deletions and can fail chosen calls, standing in
/// for storage faults that a local directory cannot produce on demand.
final class RecordingStore: ObjectStore {
  let inner: ObjectStore
  var deleted: [String] = []
  var failList = false
  var failDeleteOf: String?
  var staleUploadCalls: [(age: TimeInterval, dryRun: Bool)] = []
  var staleUploads = 0

  init(_ inner: ObjectStore) { self.inner = inner }

  var location: String { inner.location }
  func makeWriter(key: String) throws -> ObjectWriter { try inner.makeWriter(key: key) }
  func read(key: String, range: ClosedRange<Int64>?, into sink: ByteSink) throws {
    try inner.read(key: key, range: range, into: sink)
  }
  func head(key: String) throws -> ObjectInfo? { try inner.head(key: key) }

  func list(prefix: String) throws -> [ObjectInfo] {
    if failList { throw StorageError.unavailable(location: location, reason: "listing timed out") }
    return try inner.list(prefix: prefix)
  }

  func delete(key: String) throws {
    if key == failDeleteOf { throw StorageError.unavailable(location: location, reason: "delete failed") }
    deleted.append(key)
    try inner.delete(key: key)
  }

  func abortStaleUploads(olderThan age: TimeInterval, dryRun: Bool) throws -> Int {
    staleUploadCalls.append((age, dryRun))
    return staleUploads
  }
}

@Suite struct PrunerTests {
  struct Fixture {
    let work: TemporaryDirectory
    let store: RecordingStore
    let ids: [String]

    init(_ label: String, days: Int) throws {
      work = try TemporaryDirectory(label)
      ids = BackupHistory.twicePerDay(days: days)
      try BackupHistory.make(repository: work.join("repo"), ids: ids, work: work)
      store = RecordingStore(try LocalObjectStore(root: work.join("repo"), create: false))
    }

    func prune(_ policy: RetentionPolicy, dryRun: Bool = false) throws -> PruneReport {
      try Pruner(repository: Repository(store: store), policy: policy, logger: .disabled()).run(dryRun: dryRun)
    }
  }

  @Test func manifestDeletedBeforeArchive() throws {
    let fixture = try Fixture("pruner-order", days: 2)
    let report = try fixture.prune(RetentionPolicy(keepLast: 1))
    #expect(report.deleted.map(\.id) == Array(fixture.ids.prefix(3)))
    let expected = fixture.ids.prefix(3).flatMap {
      ["backups/\($0).manifest.json", "backups/\($0).tar.gz"]
    }
    #expect(fixture.store.deleted == expected)
  }

  @Test func failedListingDeletesNothing() throws {
    let fixture = try Fixture("pruner-list", days: 1)
    fixture.store.failList = true
    let error = #expect(throws: StorageError.self) { try fixture.prune(RetentionPolicy(keepLast: 1)) }
    #expect(error != nil)
    #expect(fixture.store.deleted.isEmpty)
    #expect(fixture.store.staleUploadCalls.isEmpty)
  }

  @Test func failedArchiveDeleteHidesBackup() throws {
    let fixture = try Fixture("pruner-halfway", days: 2)
    fixture.store.failDeleteOf = "backups/\(fixture.ids[1]).tar.gz"
    #expect(throws: StorageError.self) { try fixture.prune(RetentionPolicy(keepLast: 1)) }

    // The first backup is gone entirely. The second lost its manifest, so it is no longer
    // listed, and its archive is a leftover for a later run.
    let repository = Repository(store: fixture.store.inner)
    #expect(try repository.listIDs() == [fixture.ids[2], fixture.ids[3]])
    #expect(try fixture.store.inner.head(key: "backups/\(fixture.ids[1]).tar.gz") != nil)
    #expect(try fixture.store.inner.head(key: "backups/\(fixture.ids[0]).tar.gz") == nil)
  }

  @Test func staleUploadsThroughProtocol() throws {
    let fixture = try Fixture("pruner-uploads", days: 1)
    fixture.store.staleUploads = 3

    let dryRun = try fixture.prune(RetentionPolicy(keepDaily: 1), dryRun: true)
    #expect(dryRun.staleUploads == 3)
    #expect(fixture.store.deleted.isEmpty)
    let real = try fixture.prune(RetentionPolicy(keepDaily: 1))
    #expect(real.staleUploads == 3)

    #expect(fixture.store.staleUploadCalls.map { $0.dryRun } == [true, false])
    #expect(fixture.store.staleUploadCalls.map { $0.age } == [86_400, 86_400])
  }

  @Test func dryRunDeletesNothing() throws {
    let fixture = try Fixture("pruner-dry", days: 3)
    let report = try fixture.prune(RetentionPolicy(keepLast: 2), dryRun: true)
    #expect(report.dryRun)
    #expect(report.deleted.count == 4)
    #expect(report.kept.map(\.id) == [fixture.ids[4], fixture.ids[5]])
    #expect(fixture.store.deleted.isEmpty)
    #expect(report.bytesFreed > 0)
  }
}
