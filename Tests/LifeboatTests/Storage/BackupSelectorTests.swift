import Foundation
@testable import Lifeboat
import Testing

/// Choosing a backup by time, across day, month and year ends, and by host.
@Suite struct BackupSelectorTests {
  static let ids = [
    "20261130T235900Z-web1",
    "20261201T000100Z-web1",
    "20261202T230000Z-web1",
    "20261203T003000Z-web1",
    "20261203T035959Z-web1",
    "20261203T040000Z-web1",
    "20261203T041500Z-web1",
    "20261231T233000Z-web1",
    "20270101T003000Z-web1",
  ]

  private func newestBefore(_ text: String) throws -> String? {
    let date = try #require(TimeArgument.parse(text), "\(text)")
    return BackupSelector.before(date).candidates(in: BackupSelectorTests.ids).first
  }

  @Test func beforeIsStrict() throws {
    #expect(try newestBefore("2026-12-03 04:00") == "20261203T035959Z-web1")
    #expect(try newestBefore("2026-12-03 04:00:01") == "20261203T040000Z-web1")
  }

  @Test func beforeAcrossDayEnd() throws {
    #expect(try newestBefore("2026-12-03") == "20261202T230000Z-web1")
    // 01:30 at +02:00 is 23:30 UTC the day before.
    #expect(try newestBefore("2026-12-03T01:30+02:00") == "20261202T230000Z-web1")
    #expect(try newestBefore("2026-12-03T02:31+02:00") == "20261203T003000Z-web1")
  }

  @Test func beforeAcrossMonthEnd() throws {
    #expect(try newestBefore("2026-12-01") == "20261130T235900Z-web1")
    #expect(try newestBefore("2026-12-01T01:00+01:00") == "20261130T235900Z-web1")
    #expect(try newestBefore("2026-12-01 00:02") == "20261201T000100Z-web1")
    #expect(try newestBefore("2026-11-30 23:00-01:00") == "20261130T235900Z-web1")
    #expect(try newestBefore("2026-11-30 23:02-01:00") == "20261201T000100Z-web1")
  }

  @Test func beforeAcrossYearEnd() throws {
    #expect(try newestBefore("2027-01-01") == "20261231T233000Z-web1")
    #expect(try newestBefore("2027-01-01T01:00:00+01:00") == "20261231T233000Z-web1")
    #expect(try newestBefore("2027-01-01T01:31:00+01:00") == "20270101T003000Z-web1")
  }

  @Test func beforeOldestIsEmpty() throws {
    #expect(try newestBefore("2026-11-30 23:59") == nil)
  }

  @Test func latestIsNewestFirst() {
    let candidates = BackupSelector.latest.candidates(in: BackupSelectorTests.ids.shuffled())
    #expect(candidates.first == "20270101T003000Z-web1")
    #expect(candidates.count == BackupSelectorTests.ids.count)
  }

  @Test func timeFilterInclusive() throws {
    let filter = BackupTimeFilter(
      since: TimeArgument.parse("2026-12-03T02:30+02:00"), until: TimeArgument.parse("2026-12-03 04:00"))
    let kept = BackupSelectorTests.ids.filter { filter.contains(id: $0) }
    #expect(kept == ["20261203T003000Z-web1", "20261203T035959Z-web1", "20261203T040000Z-web1"])
  }

  @Test func timeFilterMonthBoundary() throws {
    let november = BackupTimeFilter(until: TimeArgument.parse("2026-11-30T23:59:59"))
    #expect(BackupSelectorTests.ids.filter { november.contains(id: $0) } == ["20261130T235900Z-web1"])
    let december = BackupTimeFilter(since: TimeArgument.parse("2026-12-01"), until: TimeArgument.parse("2026-12-31T23:59:59"))
    #expect(BackupSelectorTests.ids.filter { december.contains(id: $0) }.count == 7)
  }

  @Test func sampleSizes() {
    #expect(BackupSample.parse("10%") == .percent(10))
    #expect(BackupSample.parse("3") == .count(3))
    #expect(BackupSample.parse("0%") == nil)
    #expect(BackupSample.parse("101%") == nil)
    #expect(BackupSample.parse("0") == nil)
    #expect(BackupSample.parse("ten") == nil)
    #expect(BackupSample.percent(10).size(of: 3) == 1)
    #expect(BackupSample.percent(10).size(of: 25) == 3)
    #expect(BackupSample.percent(100).size(of: 7) == 7)
    #expect(BackupSample.count(5).size(of: 2) == 2)
    #expect(BackupSample.percent(50).size(of: 0) == 0)
  }

  @Test func sampleDistinctAndSorted() {
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<20 {
      let chosen = BackupSample.percent(40).choose(from: BackupSelectorTests.ids, using: &generator)
      #expect(chosen.count == 4)
      #expect(Set(chosen).count == 4)
      #expect(chosen == chosen.sorted())
    }
  }

  @Test func resolveByHost() throws {
    let work = try TemporaryDirectory("selector")
    let repository = Repository(store: try LocalObjectStore(root: work.join("repo"), create: true))
    for (id, host) in [
      ("20261203T010000Z-web1", "web1"), ("20261203T020000Z-web2", "web2"),
      ("20261203T030000Z-web1", "web1"), ("20261203T040000Z-web2", "web2"),
    ] {
      try repository.store.put(key: repository.manifestKey(id: id), data: try stubManifest(id: id, host: host).encoded())
    }

    #expect(try repository.resolve(.latest).id == "20261203T040000Z-web2")
    #expect(try repository.resolve(.latest, host: "web1").id == "20261203T030000Z-web1")
    let before = try #require(TimeArgument.parse("2026-12-03T05:00+02:00"))
    #expect(try repository.resolve(.before(before), host: "web1").id == "20261203T010000Z-web1")
    #expect(try repository.resolve(.before(before), host: "web2").id == "20261203T020000Z-web2")
    #expect(throws: LifeboatError.self) {
      try repository.resolve(.id("20261203T030000Z-web1"), host: "web2")
    }
    let early = try #require(TimeArgument.parse("2026-12-03 01:00"))
    let error = #expect(throws: LifeboatError.self) { try repository.resolve(.before(early)) }
    #expect(error?.message.contains("before 2026-12-03 01:00:00 UTC") == true)
    #expect(error?.hint?.contains("20261203T010000Z-web1") == true)
  }

  private func stubManifest(id: String, host: String) -> Manifest {
    Manifest(
      id: id, host: host, lifeboatVersion: "test", startedAt: "", finishedAt: "", status: "complete",
      compression: "gzip", sources: [], files: [], warnings: [], fileCount: 0, totalBytes: 0,
      archive: ManifestArchive(key: "backups/\(id).tar.gz", size: 0, sha256: "", compression: "gzip"))
  }
}
