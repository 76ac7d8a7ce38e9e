import Foundation
import Testing

/// `lifeboat prune` and `backup --prune` through the real binary on a file repository.
@Suite struct PruneTests {
  /// A repository holding backups at 03:00 and 15:00 UTC on `days` days, starting 40 days ago.
  struct Fixture {
    let work: TemporaryDirectory
    let repository: String
    let url: String
    let environment: [String: String]
    let ids: [String]

    init(_ label: String, days: Int = 10, statuses: [String: String] = [:]) throws {
      work = try TemporaryDirectory(label)
      repository = work.join("repo")
      url = "file://" + repository
      environment = ["LIFEBOAT_LOCK_DIRECTORY": work.join("locks")]
      ids = BackupHistory.twicePerDay(days: days)
      try BackupHistory.make(repository: repository, ids: ids, statuses: statuses, work: work)
    }

    func lifeboat(_ arguments: [String], environment extra: [String: String] = [:]) throws
      -> ProcessResult
    {
      try TestSupport.lifeboat(arguments, environment: environment.merging(extra) { _, new in new })
    }

    func exists(_ id: String, _ suffix: String) -> Bool {
      FileManager.default.fileExists(atPath: repository + "/backups/" + id + suffix)
    }

    /// Writes an archive object without a manifest, last modified `age` seconds ago.
    func writeLeftover(_ name: String, age: TimeInterval) throws -> String {
      let path = repository + "/backups/" + name
      try Data("leftover".utf8).write(to: URL(fileURLWithPath: path))
      try setAge(path, age)
      return path
    }

    func setAge(_ path: String, _ age: TimeInterval) throws {
      let date = Date().addingTimeInterval(-age)
      try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: path)
    }
  }

  @Test func keepsPolicySurvivors() throws {
    let fixture = try Fixture("prune-policy")
    #expect(try BackupHistory.listedIDs(repository: fixture.repository).count == 20)

    let prune = try fixture.lifeboat(["prune", "--keep-daily", "3", "--keep-last", "2", "--repo", fixture.url])
    #expect(prune.status == 0, "\(prune.stderr)")

    // Days 7, 8 and 9 keep their 15:00 backup; the last two backups are both on day 9.
    let ids = fixture.ids
    let survivors = [ids[15], ids[17], ids[18], ids[19]]
    #expect(try BackupHistory.listedIDs(repository: fixture.repository) == survivors)
    for id in fixture.ids where !survivors.contains(id) {
      #expect(!fixture.exists(id, ".manifest.json"), "manifest of \(id)")
      #expect(!fixture.exists(id, ".tar.gz"), "archive of \(id)")
    }
    for id in survivors {
      #expect(fixture.exists(id, ".tar.gz"), "archive of \(id)")
    }
    #expect(prune.stdout.contains("prune: kept 4 backups, deleted 16"))
    let lines = prune.stdout.split(separator: "\n").map(BackupHistory.fields)
    #expect(lines.contains(["keep", ids[19], "complete", "last,", "daily"]))
    #expect(lines.contains(["keep", ids[18], "complete", "last"]))
    #expect(lines.contains(["deleted", ids[0], "complete"]))
    #expect(!FileManager.default.fileExists(atPath: fixture.repository + "/locks/lock.json"))

    let verify = try fixture.lifeboat(["verify", "--all", "--quick", "--repo", fixture.url])
    #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
  }

  @Test func dryRunChangesNothing() throws {
    let fixture = try Fixture("prune-dryrun")
    let leftoverID = BackupHistory.id(day: -1, hour: 0)
    let leftover = try fixture.writeLeftover(leftoverID + ".tar.gz", age: 3 * 86_400)
    let before = try BackupHistory.snapshot(fixture.work.path)

    let dryRun = try fixture.lifeboat([
      "prune", "--keep-daily", "2", "--dry-run", "--repo", fixture.url,
    ])
    #expect(dryRun.status == 0, "\(dryRun.stderr)")
    #expect(try BackupHistory.snapshot(fixture.work.path) == before)
    #expect(FileManager.default.fileExists(atPath: leftover))

    let lines = dryRun.stdout.split(separator: "\n")
    let ids = fixture.ids
    #expect(lines.filter { $0.hasPrefix("would keep ") }.count == 2)
    #expect(lines.filter { $0.hasPrefix("would delete ") }.count == 19)
    #expect(lines.map(BackupHistory.fields).contains(["would", "keep", ids[19], "complete", "daily"]))
    #expect(lines.map(BackupHistory.fields).contains(["would", "keep", ids[17], "complete", "daily"]))
    #expect(lines.map(BackupHistory.fields).contains(["would", "delete", ids[18], "complete"]))
    #expect(lines.contains { $0.hasPrefix("would delete backups/\(leftoverID).tar.gz (archive without a manifest") })
    #expect(lines.last?.hasPrefix("prune dry run: would keep 2 backups, delete 18") == true)
    #expect(lines.last?.hasSuffix("nothing was changed") == true)
  }

  @Test func dryRunJSON() throws {
    let fixture = try Fixture("prune-json", days: 2)
    let result = try fixture.lifeboat(["prune", "--keep-last", "1", "--dry-run", "--json", "--repo", fixture.url])
    #expect(result.status == 0, "\(result.stderr)")
    let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
    #expect(object?["dry_run"] as? Bool == true)
    #expect(object?["kept"] as? Int == 1)
    #expect(object?["deleted"] as? Int == 3)
    let backups = object?["backups"] as? [[String: Any]] ?? []
    #expect(backups.count == 4)
    #expect(backups.last?["id"] as? String == fixture.ids[3])
    #expect(backups.last?["rules"] as? [String] == ["last"])
    #expect(backups.first?["action"] as? String == "delete")
    #expect((object?["policy"] as? [String: Any])?["keep_last"] as? Int == 1)
    #expect(try BackupHistory.listedIDs(repository: fixture.repository).count == 4)
  }

  @Test func corruptManifestDeletesNothing() throws {
    let fixture = try Fixture("prune-corrupt", days: 3)
    let damagedID = fixture.ids[2]
    let damaged = fixture.repository + "/backups/\(damagedID).manifest.json"
    try Data("{\"format\": \"lifeboat-manifest\", \"id\": ".utf8).write(to: URL(fileURLWithPath: damaged))
    let before = try BackupHistory.snapshot(fixture.repository)

    let prune = try fixture.lifeboat(["prune", "--keep-last", "1", "--repo", fixture.url])
    #expect(prune.status == 65, "\(prune.stdout) \(prune.stderr)")
    #expect(prune.stderr.contains(damagedID))
    #expect(prune.stderr.contains("nothing was deleted"))
    #expect(try BackupHistory.snapshot(fixture.repository) == before)
  }

  @Test func leftoversRemovedWhenOld() throws {
    let fixture = try Fixture("prune-leftovers", days: 1)
    let oldID = BackupHistory.id(day: -2, hour: 0)
    let newID = BackupHistory.id(day: -1, hour: 0)
    let oldArchive = try fixture.writeLeftover(oldID + ".tar.gz", age: 2 * 86_400)
    let newArchive = try fixture.writeLeftover(newID + ".tar.zst", age: 600)
    let unknown = try fixture.writeLeftover("notes.txt", age: 5 * 86_400)
    let oldTemporary = try fixture.writeLeftover(".lifeboat-tmp-1-2-\(oldID).tar.gz", age: 2 * 86_400)
    let newTemporary = try fixture.writeLeftover(".lifeboat-tmp-1-3-\(newID).tar.gz", age: 60)

    let prune = try fixture.lifeboat(["prune", "--keep-last", "5", "--repo", fixture.url])
    #expect(prune.status == 0, "\(prune.stderr)")
    #expect(!FileManager.default.fileExists(atPath: oldArchive))
    #expect(!FileManager.default.fileExists(atPath: oldTemporary))
    #expect(FileManager.default.fileExists(atPath: newArchive))
    #expect(FileManager.default.fileExists(atPath: newTemporary))
    #expect(FileManager.default.fileExists(atPath: unknown))
    #expect(prune.stdout.contains("removed 1 leftover archive(s), aborted 1 stale upload(s)"))
    #expect(try BackupHistory.listedIDs(repository: fixture.repository).count == 2)
  }

  @Test func emptyPolicyRejected() throws {
    let fixture = try Fixture("prune-empty", days: 1)
    let before = try BackupHistory.snapshot(fixture.repository)
    for arguments in [["prune"], ["prune", "--keep-daily", "0"]] {
      let prune = try fixture.lifeboat(arguments + ["--repo", fixture.url])
      #expect(prune.status == 64)
      #expect(prune.stderr.contains("no retention rule given"))
      #expect(prune.stderr.contains("--keep-daily"))
    }
    #expect(try BackupHistory.snapshot(fixture.repository) == before)
  }

  @Test func policyFromConfigFile() throws {
    let fixture = try Fixture("prune-config", days: 3)
    let config = fixture.work.join("lifeboat.conf")
    try """
      [repository]
      url = \(fixture.url)

      [retention]
      keep_last = 1
      keep_daily = 2
      """.write(toFile: config, atomically: true, encoding: .utf8)

    let prune = try fixture.lifeboat(["prune", "--config", config])
    #expect(prune.status == 0, "\(prune.stderr)")
    #expect(try BackupHistory.listedIDs(repository: fixture.repository) == [fixture.ids[3], fixture.ids[5]])

    // The environment overrides the file, and an option overrides both.
    let fromEnvironment = try fixture.lifeboat(
      ["prune", "--config", config, "--keep-daily", "1", "--dry-run", "--json"],
      environment: ["LIFEBOAT_RETENTION_KEEP_LAST": "0"])
    #expect(fromEnvironment.status == 0, "\(fromEnvironment.stderr)")
    let object = try JSONSerialization.jsonObject(with: Data(fromEnvironment.stdout.utf8)) as? [String: Any]
    let policy = object?["policy"] as? [String: Any]
    #expect(policy?["keep_last"] as? Int == 0)
    #expect(policy?["keep_daily"] as? Int == 1)
  }

  @Test func invalidRetentionValueRejected() throws {
    let fixture = try Fixture("prune-invalid", days: 1)
    let prune = try fixture.lifeboat(["prune", "--keep-daily", "-3", "--repo", fixture.url])
    #expect(prune.status == 78)
    #expect(prune.stderr.contains("keep_daily"))
  }

  @Test func missingRepositoryUnavailable() throws {
    let work = try TemporaryDirectory("prune-missing")
    let prune = try TestSupport.lifeboat([
      "prune", "--keep-last", "1", "--repo", "file://" + work.join("absent"),
    ])
    #expect(prune.status == 69)
    #expect(!FileManager.default.fileExists(atPath: work.join("absent")))
  }

  @Test func partialKeptUntilReplaced() throws {
    let ids = BackupHistory.twicePerDay(days: 2)
    let fixture = try Fixture("prune-partial", days: 2, statuses: [ids[3]: "partial", ids[1]: "partial"])
    let prune = try fixture.lifeboat(["prune", "--keep-last", "1", "--repo", fixture.url])
    #expect(prune.status == 0, "\(prune.stderr)")
    // The newest backup is partial, so it stays beside the newest complete one; the older
    // partial one is replaced by a complete backup and goes.
    #expect(try BackupHistory.listedIDs(repository: fixture.repository) == [ids[2], ids[3]])
    let lines = prune.stdout.split(separator: "\n").map(BackupHistory.fields)
    #expect(lines.contains(["keep", ids[3], "partial", "newer-partial"]))
    #expect(lines.contains(["keep", ids[2], "complete", "last"]))
    #expect(lines.contains(["deleted", ids[1], "partial"]))
  }

  @Test func backupPruneAppliesPolicy() throws {
    let fixture = try Fixture("prune-backup", days: 3)
    let tree = fixture.work.join("tree")
    try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
    try "data\n".write(toFile: tree + "/file.txt", atomically: true, encoding: .utf8)

    let backup = try fixture.lifeboat([
      "backup", "--path", tree, "--host", "web1", "--prune", "--keep-last", "2", "--json",
      "--repo", fixture.url,
    ])
    #expect(backup.status == 0, "\(backup.stderr)")
    let object = try JSONSerialization.jsonObject(with: Data(backup.stdout.utf8)) as? [String: Any]
    let newID = try #require(object?["id"] as? String)
    let prune = object?["prune"] as? [String: Any]
    #expect(prune?["deleted"] as? Int == 5)
    #expect(prune?["kept"] as? Int == 2)
    #expect(try BackupHistory.listedIDs(repository: fixture.repository) == [fixture.ids[5], newID])
  }

  @Test func failedBackupPrunesNothing() throws {
    let fixture = try Fixture("prune-failed", days: 2)
    let notDatabase = fixture.work.join("not-a-database.db")
    try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: notDatabase))
    let before = try BackupHistory.snapshot(fixture.repository + "/backups")

    let backup = try fixture.lifeboat([
      "backup", "--db", notDatabase, "--prune", "--keep-last", "1", "--repo", fixture.url,
    ])
    #expect(backup.status == 1, "\(backup.stderr)")
    #expect(backup.stderr.contains("not a SQLite database"))
    #expect(try BackupHistory.snapshot(fixture.repository + "/backups") == before)
    #expect(!FileManager.default.fileExists(atPath: fixture.repository + "/locks/lock.json"))
  }

  @Test func backupPruneWithoutRuleRejected() throws {
    let fixture = try Fixture("prune-norule", days: 1)
    let before = try BackupHistory.snapshot(fixture.repository)
    let backup = try fixture.lifeboat(["backup", "--path", fixture.work.path, "--prune", "--repo", fixture.url])
    #expect(backup.status == 64)
    #expect(backup.stderr.contains("no retention rule given"))
    #expect(try BackupHistory.snapshot(fixture.repository) == before)
  }

  @Test func hostsCountedSeparately() throws {
    let fixture = try Fixture("prune-hosts", days: 2)
    // Two backups of host db1, older than every web1 backup.
    let backups = fixture.repository + "/backups/"
    let db1 = [BackupHistory.id(day: -3, hour: 3, host: "db1"), BackupHistory.id(day: -2, hour: 3, host: "db1")]
    for id in db1 {
      let source = fixture.ids[0]
      try FileManager.default.copyItem(atPath: backups + source + ".tar.gz", toPath: backups + id + ".tar.gz")
      var manifest = try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: backups + source + ".manifest.json"))) as! [String: Any]
      manifest["id"] = id
      manifest["host"] = "db1"
      var archive = manifest["archive"] as! [String: Any]
      archive["key"] = "backups/" + id + ".tar.gz"
      manifest["archive"] = archive
      try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: backups + id + ".manifest.json"))
    }

    let prune = try fixture.lifeboat(["prune", "--keep-last", "1", "--repo", fixture.url])
    #expect(prune.status == 0, "\(prune.stderr)")
    #expect(try BackupHistory.listedIDs(repository: fixture.repository) == [db1[1], fixture.ids[3]])
  }
}
