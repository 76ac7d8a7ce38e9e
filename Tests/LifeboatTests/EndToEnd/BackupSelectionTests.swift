import Foundation
import Testing

/// Choosing backups from the command line: `restore --before`, `list --since/--until` and the
/// depths of `verify`.
@Suite struct BackupSelectionTests {
  /// A repository whose one real backup is listed under ids at chosen times. Only the
  /// manifests are copied, so these backups can be listed and planned but not verified.
  struct History {
    let work: TemporaryDirectory
    let repository: String
    let source: String
    let ids = [
      "20261130T235900Z-web1", "20261201T000100Z-web1", "20261202T230000Z-web1",
      "20261203T035959Z-web1", "20261203T040000Z-web1",
    ]

    init() throws {
      work = try TemporaryDirectory("selection")
      source = work.join("src")
      repository = "file://" + work.join("repo")
      try FileManager.default.createDirectory(atPath: source + "/config", withIntermediateDirectories: true)
      try "x: 1\n".write(toFile: source + "/config/x.yaml", atomically: false, encoding: .utf8)
      let backup = try TestSupport.lifeboat(["backup", "--path", source + "/config", "--repo", repository])
      guard backup.status == 0 else { throw TestFailure("backup failed: \(backup.stderr)") }

      let directory = work.join("repo/backups")
      guard let real = try FileManager.default.contentsOfDirectory(atPath: directory).first(where: { $0.hasSuffix(".manifest.json") })
      else { throw TestFailure("no manifest") }
      let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + real))
      let realArchive = directory + "/" + real.replacingOccurrences(of: ".manifest.json", with: ".tar.gz")
      for id in ids {
        guard var manifest = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { continue }
        manifest["id"] = id
        // Each backup names its own archive; lifeboat rejects a manifest that names another's.
        var archive = manifest["archive"] as? [String: Any] ?? [:]
        archive["key"] = "backups/\(id).tar.gz"
        manifest["archive"] = archive
        try FileManager.default.copyItem(atPath: realArchive, toPath: "\(directory)/\(id).tar.gz")
        let copy = try JSONSerialization.data(withJSONObject: manifest)
        try copy.write(to: URL(fileURLWithPath: "\(directory)/\(id).manifest.json"))
      }
      try FileManager.default.removeItem(atPath: directory + "/" + real)
      try FileManager.default.removeItem(atPath: realArchive)
    }

    func listed(_ arguments: [String]) throws -> [String] {
      let result = try TestSupport.lifeboat(["list", "--repo", repository, "--json"] + arguments)
      guard result.status == 0 else { throw TestFailure("list failed: \(result.stderr)") }
      let items = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] ?? []
      return items.compactMap { $0["id"] as? String }
    }

    /// Returns the id that an in-place `restore --before TIME --dry-run` plans to restore.
    func plannedID(before time: String) throws -> String? {
      let result = try TestSupport.lifeboat(["restore", "--before", time, "--dry-run", "--repo", repository])
      guard result.status == 0, let first = result.stdout.split(separator: "\n").first else { return nil }
      let words = first.split(separator: " ")
      guard words.count > 4, words[0] == "restore", words[3] == "backup" else { return nil }
      return String(words[4])
    }
  }

  @Test func restoreBeforeTime() throws {
    let history = try History()
    #expect(try history.plannedID(before: "2026-12-03 04:00") == "20261203T035959Z-web1")
    #expect(try history.plannedID(before: "2026-12-03T01:30+02:00") == "20261202T230000Z-web1")
    #expect(try history.plannedID(before: "2026-12-01") == "20261130T235900Z-web1")
    #expect(try history.plannedID(before: "2026-11-30 23:02-01:00") == "20261201T000100Z-web1")

    let none = try TestSupport.lifeboat(
      ["restore", "--before", "2026-11-30", "--target", history.work.join("none"), "--repo", history.repository])
    #expect(none.status == 1)
    #expect(none.stderr.contains("no backup was taken before 2026-11-30 00:00:00 UTC"))

    let invalid = try TestSupport.lifeboat(["restore", "--before", "2026-02-30", "--target", history.work.join("unused"), "--repo", history.repository])
    #expect(invalid.status == 64)
    #expect(invalid.stderr.contains("invalid time '2026-02-30'"))

    let both = try TestSupport.lifeboat(["restore", "latest", "--before", "2026-12-01", "--target", history.work.join("unused"), "--repo", history.repository])
    #expect(both.status == 64)
  }

  @Test func listSinceUntil() throws {
    let history = try History()
    #expect(try history.listed([]) == history.ids)
    #expect(try history.listed(["--since", "2026-12-01"]) == Array(history.ids.dropFirst()))
    #expect(try history.listed(["--until", "2026-11-30T23:59:00Z"]) == ["20261130T235900Z-web1"])
    #expect(try history.listed(["--since", "2026-12-03T01:00+02:00", "--until", "2026-12-03 04:00"]) == [
      "20261202T230000Z-web1", "20261203T035959Z-web1", "20261203T040000Z-web1",
    ])
    let invalid = try TestSupport.lifeboat(["list", "--repo", history.repository, "--since", "yesterday"])
    #expect(invalid.status == 64)
  }

  @Test func verifyDepths() throws {
    let work = try TemporaryDirectory("verifydepth")
    let source = work.join("src")
    let repository = "file://" + work.join("repo")
    try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
    for round in 1...4 {
      try "round \(round)\n".write(toFile: source + "/state.txt", atomically: false, encoding: .utf8)
      let backup = try TestSupport.lifeboat(["backup", "--path", source, "--repo", repository])
      #expect(backup.status == 0, "\(backup.stderr)")
    }
    let directory = work.join("repo/backups")
    let ids = try FileManager.default.contentsOfDirectory(atPath: directory)
      .filter { $0.hasSuffix(".manifest.json") }.map { String($0.dropLast(".manifest.json".count)) }.sorted()
    #expect(ids.count == 4)

    func verified(_ arguments: [String]) throws -> (status: Int32, ids: [String]) {
      let result = try TestSupport.lifeboat(["verify", "--repo", repository, "--json"] + arguments)
      let checked = result.stdout.split(separator: "\n").compactMap {
        (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["id"] as? String
      }
      return (result.status, checked)
    }

    let latest = try verified(["--latest", "2"])
    #expect(latest.status == 0)
    #expect(latest.ids == Array(ids.suffix(2)))
    #expect(try verified(["--latest", "50"]).ids == ids)
    let small = try verified(["--sample", "10%"])
    #expect(small.status == 0)
    #expect(small.ids.count == 1)
    let half = try verified(["--sample", "50%"])
    #expect(half.ids.count == 2)
    #expect(Set(half.ids).count == 2)
    #expect(try verified(["--sample", "3"]).ids.count == 3)

    // A damaged oldest archive: the newest three still pass, --all fails on it alone, and
    // --quick (sizes only) cannot see a changed byte.
    let oldest = try #require(ids.first)
    try flipByte(in: "\(directory)/\(oldest).tar.gz", at: 100)
    #expect(try verified(["--latest", "3"]).status == 0)
    #expect(try verified(["--all", "--quick"]).status == 0)
    let all = try TestSupport.lifeboat(["verify", "--all", "--repo", repository])
    #expect(all.status == 65)
    #expect(all.stdout.split(separator: "\n").filter { $0.hasPrefix("FAILED") }.map { String($0.split(separator: " ")[1].dropLast()) } == [oldest])

    for arguments in [["--all", "--latest", "1"], ["--sample", "0%"], ["--latest", "0"], ["latest", "--sample", "1"]] {
      let result = try TestSupport.lifeboat(["verify", "--repo", repository] + arguments)
      #expect(result.status == 64, "\(arguments)")
    }
  }
}
