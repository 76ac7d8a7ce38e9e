import Foundation
import Testing

@testable import Lifeboat

/// Request counting: per verb and bytes in unit tests, and a bound on a whole backup's requests.
@Suite struct CountingObjectStoreTests {
  @Test func countsEachVerb() throws {
    let work = try TemporaryDirectory("counting")
    let store = CountingObjectStore(base: try LocalObjectStore(root: work.join("repo"), create: true))

    try store.put(key: "a/one", data: Array("hello".utf8))
    try store.put(key: "a/two", data: Array("hi".utf8))
    #expect(try store.get(key: "a/one") == Array("hello".utf8))
    #expect(try store.head(key: "a/two")?.size == 2)
    #expect(try store.list(prefix: "a/").count == 2)
    try store.delete(key: "a/two")

    let counts = store.counts
    #expect(counts.put == 2)
    #expect(counts.get == 1)
    #expect(counts.head == 1)
    #expect(counts.list == 1)
    #expect(counts.delete == 1)
    #expect(counts.part == 0)
    #expect(counts.total == 6)
    #expect(counts.bytesUploaded == 7)
    #expect(counts.bytesDownloaded == 5)
  }

  @Test func countsFailedCalls() throws {
    let work = try TemporaryDirectory("countfail")
    let store = CountingObjectStore(base: try LocalObjectStore(root: work.join("repo"), create: true))
    #expect(throws: StorageError.self) { try store.get(key: "missing") }
    #expect(store.counts.get == 1)
    #expect(store.counts.bytesDownloaded == 0)
  }

  @Test func countsPartsThroughHook() throws {
    let work = try TemporaryDirectory("countparts")
    let multipart = PartReportingStore(base: try LocalObjectStore(root: work.join("repo"), create: true))
    // The hook is found below another decorator, as it would be under retry or fault layers.
    let faults = FaultInjectingObjectStore(base: multipart, injector: FaultInjector(plan: FaultPlan()))
    let store = CountingObjectStore(base: faults)

    let writer = try store.makeWriter(key: "big")
    for _ in 0..<3 { try writer.write(Array(repeating: 7, count: 100)) }
    _ = try writer.commit()

    #expect(store.counts.put == 1)
    #expect(store.counts.part == 3)
    #expect(store.counts.bytesUploaded == 300)
    #expect(store.layer(MultipartReporting.self) === multipart)
  }

  @Test func backupRequestsAreBounded() throws {
    let work = try TemporaryDirectory("boundedreq")
    let corpus = work.join("corpus")
    try TestSupport.makeCorpus(corpus)
    let backup = try TestSupport.lifeboat([
      "backup", "--db", corpus + "/app.db", "--path", corpus + "/config", "--path", corpus + "/logs",
      "--repo", "file://" + work.join("repo"), "--json", "--log-format", "json", "--log-level", "info",
    ])
    #expect(backup.status == 0, "\(backup.stderr)")
    let summary = try JSONSerialization.jsonObject(with: Data(backup.stdout.utf8)) as? [String: Any]
    let requests = summary?["requests"] as? [String: Any] ?? [:]
    let total = requests["total"] as? Int ?? -1
    let parts = requests["part"] as? Int ?? -1

    // A local backup writes the lock object and reads it back, lists once for a fresh id,
    // writes the archive, then the manifest. The lock's delete comes after the summary.
    #expect(total >= 3)
    #expect(total <= 10 + parts)
    #expect(requests["put"] as? Int == 3)
    #expect(requests["get"] as? Int == 1)
    #expect(requests["delete"] as? Int == 0)
    let archiveBytes = summary?["archive_bytes"] as? Int ?? 0
    let uploaded = requests["bytes_uploaded"] as? Int ?? 0
    #expect(uploaded > archiveBytes)

    let notice = backup.stderr.split(separator: "\n").first { $0.contains("\"backup finished\"") } ?? ""
    let fields = try JSONSerialization.jsonObject(with: Data(notice.utf8)) as? [String: Any]
    #expect(fields?["requests_put"] as? Int == 3)
    #expect(fields?["bytes_uploaded"] as? Int == uploaded)
  }
}

/// A store that reports each write as a part, standing in for an S3 multipart upload.
private final class PartReportingStore: ObjectStoreDecorator, MultipartReporting {
  let base: ObjectStore
  var partObserver: ((Int64) -> Void)?
  var location: String { base.location }

  init(base: ObjectStore) { self.base = base }

  func makeWriter(key: String) throws -> ObjectWriter {
    PartWriter(base: try base.makeWriter(key: key), store: self)
  }
  func read(key: String, range: ClosedRange<Int64>?, into sink: ByteSink) throws {
    try base.read(key: key, range: range, into: sink)
  }
  func head(key: String) throws -> ObjectInfo? { try base.head(key: key) }
  func list(prefix: String) throws -> [ObjectInfo] { try base.list(prefix: prefix) }
  func delete(key: String) throws { try base.delete(key: key) }

  private final class PartWriter: ObjectWriter {
    let base: ObjectWriter
    unowned let store: PartReportingStore
    init(base: ObjectWriter, store: PartReportingStore) {
      self.base = base
      self.store = store
    }
    func write(_ bytes: UnsafeRawBufferPointer) throws {
      try base.write(bytes)
      store.partObserver?(Int64(bytes.count))
    }
    func finish() throws { try base.finish() }
    func commit() throws -> ObjectInfo { try base.commit() }
    func abort() { base.abort() }
  }
}
