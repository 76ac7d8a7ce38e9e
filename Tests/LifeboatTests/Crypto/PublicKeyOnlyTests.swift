import Foundation
import Testing

@testable import Lifeboat

/// Commands on a host whose config holds only the recipients' public keys, through the real
/// binary on a file repository. Retention, health and listing work from the plain encryption
/// records. Restore and a full verify need the identity, and exit with status 78 without it.
@Suite struct PublicKeyOnlyTests {
  static let keyHint = "set identity_file in [encryption] or pass --identity"

  /// An identity made by `lifeboat keygen`, a small source tree, and a config file that names
  /// the recipient but not the identity file.
  struct Setup {
    let work: TemporaryDirectory
    let tree: String
    let repository: String
    let config: String
    let identity: String
    let recipient: String

    init(_ label: String) throws {
      work = try TemporaryDirectory(label)
      tree = try SmallTree.make(work.join("tree"))
      repository = work.join("repo")
      identity = work.join("key.txt")
      let keygen = try TestSupport.lifeboat(["keygen", "--output", identity])
      guard keygen.status == 0 else { throw TestFailure("keygen failed: \(keygen.stderr)") }
      recipient = keygen.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
      config = work.join("lifeboat.conf")
      try """
        [source]
        path = tree
        [repository]
        url = file://\(repository)
        [backup]
        host = web1
        [encryption]
        recipient = \(recipient)
        """.write(toFile: config, atomically: true, encoding: .utf8)
    }

    func lifeboat(_ arguments: [String]) throws -> ProcessResult {
      try TestSupport.lifeboat(
        arguments + ["--config", config], environment: ["LIFEBOAT_LOCK_DIRECTORY": work.join("locks")])
    }

    /// Takes a real encrypted backup and returns its id.
    func backup(_ extra: [String] = []) throws -> (id: String, summary: [String: Any]) {
      let result = try lifeboat(["backup", "--json"] + extra)
      guard result.status == 0 else { throw TestFailure("backup failed: \(result.stderr)") }
      let summary = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? [:]
      return (summary["id"] as? String ?? "", summary)
    }

    /// Makes encrypted backups with the given ids from one real backup: each gets a copy of its
    /// archive and a manifest with the id, status and start time rewritten, committed as
    /// lifeboat commits one (encryption record, then encrypted manifest). The real backup goes.
    func makeHistory(_ ids: [String], statuses: [String: String] = [:]) throws {
      let seedID = try backup().id
      let repo = try keyedRepository()
      let seed = try repo.record(id: seedID)
      let backups = repository + "/backups/"
      for id in ids {
        try FileManager.default.copyItem(atPath: backups + seedID + ".tar.gz.age", toPath: backups + id + ".tar.gz.age")
        var manifest = seed.manifest
        manifest.id = id
        manifest.status = statuses[id] ?? "complete"
        manifest.startedAt = BackupHistory.isoTime(of: id)
        manifest.archive?.key = "backups/\(id).tar.gz.age"
        try repo.commitManifest(manifest)
      }
      for suffix in [".tar.gz.age", ".encryption.json", ".manifest.json.age"] {
        try FileManager.default.removeItem(atPath: backups + seedID + suffix)
      }
    }

    /// Opens the repository in this process, with the recipient and the identity.
    func keyedRepository() throws -> Repository {
      let repo = Repository(store: try LocalObjectStore(root: repository, create: false))
      let text = try String(contentsOfFile: identity, encoding: .utf8)
      repo.keys = RepositoryKeys(
        recipients: [try AgeRecipient(parsing: recipient)],
        identities: try AgeIdentity.parseFile(text, name: identity))
      return repo
    }

    /// Rewrites backup `id`'s encryption record as a JSON object.
    func editRecord(_ id: String, _ change: (inout [String: Any]) -> Void) throws {
      let path = repository + "/backups/\(id).encryption.json"
      var object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any] ?? [:]
      change(&object)
      try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
    }

    func objects() throws -> [String] {
      try FileManager.default.contentsOfDirectory(atPath: repository + "/backups").sorted()
    }
  }

  @Test func recordCarriesMetadata() throws {
    let setup = try Setup("keyless-record")
    let (id, _) = try setup.backup()
    let text = try String(contentsOfFile: setup.repository + "/backups/\(id).encryption.json", encoding: .utf8)
    let record = try EncryptionRecord.decode(Array(text.utf8), name: "record")
    let manifest = try setup.keyedRepository().record(id: id).manifest
    let metadata = try #require(record.backup)
    #expect(metadata == BackupMetadata(manifest: manifest))
    #expect(metadata.host == "web1")
    #expect(metadata.status == "complete")
    #expect(metadata.fileCount == 8)
    #expect(record.disagreement(with: manifest) == nil)
    // No file name of the source tree is in the plain record.
    #expect(!text.contains("file-0.txt"))
  }

  @Test func backupPruneDeletesWithoutKey() throws {
    let setup = try Setup("keyless-backup-prune")
    let ids = BackupHistory.twicePerDay(days: 2)
    try setup.makeHistory(ids)

    let (newID, summary) = try setup.backup(["--prune", "--keep-last", "2"])
    let prune = try #require(summary["prune"] as? [String: Any])
    #expect(prune["deleted"] as? Int == 3)
    #expect(prune["kept"] as? Int == 2)
    let expected = [ids[3], newID].flatMap { id in
      ["\(id).encryption.json", "\(id).manifest.json.age", "\(id).tar.gz.age"]
    }
    #expect(try setup.objects() == expected.sorted())

    // The identity, brought in, still restores the backup that prune kept.
    let target = setup.work.join("restored")
    let restore = try setup.lifeboat(["restore", newID, "--target", target, "--identity", setup.identity])
    #expect(restore.status == 0, "\(restore.stderr)")
    let diff = try TestSupport.shell("diff -r '\(setup.tree)' '\(target)/tree'")
    #expect(diff.status == 0, "\(diff.stdout)")
  }

  @Test func pruneDryRunListsDecisions() throws {
    let setup = try Setup("keyless-dry-run")
    let ids = BackupHistory.twicePerDay(days: 3)
    try setup.makeHistory(ids, statuses: [ids[5]: "partial"])
    let before = try BackupHistory.snapshot(setup.repository)

    let dryRun = try setup.lifeboat(["prune", "--keep-daily", "2", "--dry-run"])
    #expect(dryRun.status == 0, "\(dryRun.stderr)")
    #expect(try BackupHistory.snapshot(setup.repository) == before)
    let lines = dryRun.stdout.split(separator: "\n").map(BackupHistory.fields)
    #expect(lines.contains(["would", "keep", ids[5], "partial", "newer-partial"]))
    #expect(lines.contains(["would", "keep", ids[4], "complete", "daily"]))
    #expect(lines.contains(["would", "keep", ids[3], "complete", "daily"]))
    for id in ids.prefix(3) {
      #expect(lines.contains(["would", "delete", id, "complete"]), "\(id)")
    }
    #expect(dryRun.stdout.contains("would keep 3 backups, delete 3"))
  }

  @Test func olderRecordsKeptWithWarning() throws {
    let setup = try Setup("keyless-older")
    let ids = BackupHistory.twicePerDay(days: 2)
    try setup.makeHistory(ids)
    // Records that lifeboat wrote before it stored the backup's metadata there.
    for id in ids.prefix(2) {
      try setup.editRecord(id) { $0["backup"] = nil }
    }

    let prune = try setup.lifeboat(["prune", "--keep-last", "1"])
    #expect(prune.status == 0, "\(prune.stdout) \(prune.stderr)")
    let lines = prune.stdout.split(separator: "\n").map(BackupHistory.fields)
    #expect(lines.contains(["keep", ids[0], "encrypted", "status-unknown"]))
    #expect(lines.contains(["keep", ids[1], "encrypted", "status-unknown"]))
    #expect(lines.contains(["deleted", ids[2], "complete"]))
    #expect(lines.contains(["keep", ids[3], "complete", "last"]))
    #expect(prune.stderr.contains("without a retention decision: \(ids[0]), \(ids[1])"), "\(prune.stderr)")
    #expect(prune.stderr.contains("--identity"))
    for suffix in [".encryption.json", ".manifest.json.age", ".tar.gz.age"] {
      #expect(FileManager.default.fileExists(atPath: setup.repository + "/backups/" + ids[0] + suffix))
    }
    #expect(!FileManager.default.fileExists(atPath: setup.repository + "/backups/" + ids[2] + ".tar.gz.age"))

    // With the key, the policy applies to them too.
    let keyed = try setup.lifeboat(["prune", "--keep-last", "1", "--identity", setup.identity])
    #expect(keyed.status == 0, "\(keyed.stderr)")
    #expect(try setup.objects().filter { $0.hasSuffix(".manifest.json.age") } == ["\(ids[3]).manifest.json.age"])
  }

  @Test func healthWithoutKey() throws {
    let setup = try Setup("keyless-health")
    let (id, _) = try setup.backup()
    let spool = ["--spool-dir", setup.work.path]

    let fresh = try setup.lifeboat(["health", "--json", "--max-age", "1h"] + spool)
    #expect(fresh.status == 0, "\(fresh.stdout) \(fresh.stderr)")
    let check = try backupAgeCheck(fresh.stdout)
    #expect(check.status == "healthy")
    #expect(check.reason.hasPrefix("newest complete backup \(id) is "), "\(check.reason)")

    // The id has whole seconds, so the backup is always older than 0 s by now.
    let stale = try setup.lifeboat(["health", "--json", "--max-age", "0s"] + spool)
    #expect(stale.status == 2)
    let staleCheck = try backupAgeCheck(stale.stdout)
    #expect(staleCheck.status == "unhealthy")
    #expect(staleCheck.reason.contains("more than max_age 0s"), "\(staleCheck.reason)")
    #expect(!staleCheck.reason.contains("damaged"))

    // A record without the metadata leaves the status unknown: degraded, never damaged.
    try setup.editRecord(id) { $0["backup"] = nil }
    let unknown = try setup.lifeboat(["health", "--json", "--max-age", "1h"] + spool)
    #expect(unknown.status == 1, "\(unknown.stdout)")
    let unknownCheck = try backupAgeCheck(unknown.stdout)
    #expect(unknownCheck.status == "degraded")
    #expect(unknownCheck.reason.contains("newest \(id)"), "\(unknownCheck.reason)")
    #expect(!unknownCheck.reason.contains("damaged"))

    // A stored object of the wrong size is damage, with or without the metadata.
    let truncate = try TestSupport.shell("truncate -s 100 '\(setup.repository)/backups/\(id).tar.gz.age'")
    #expect(truncate.status == 0)
    let damaged = try setup.lifeboat(["health", "--json", "--max-age", "1h"] + spool)
    #expect(damaged.status == 2)
    #expect(try backupAgeCheck(damaged.stdout).reason.contains("has 100 bytes, the encryption record says"))
  }

  @Test func deepVerifyAndRestoreNeedKey() throws {
    let setup = try Setup("keyless-verify")
    let (id, _) = try setup.backup()

    let verify = try setup.lifeboat(["verify"])
    #expect(verify.status == 78, "\(verify.stdout) \(verify.stderr)")
    #expect(verify.stdout.hasPrefix("NO KEY \(id): "), "\(verify.stdout)")
    #expect(!verify.stdout.contains("FAILED"))
    #expect(verify.stderr.contains("hint: \(Self.keyHint)"), "\(verify.stderr)")
    #expect(verify.stderr.contains("nothing was found damaged"))

    let json = try setup.lifeboat(["verify", "--json"])
    let line = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
    #expect(line?["key_required"] as? Bool == true)
    #expect(line?["ok"] as? Bool == false)

    let quick = try setup.lifeboat(["verify", "--quick"])
    #expect(quick.status == 0, "\(quick.stdout) \(quick.stderr)")

    let restore = try setup.lifeboat(["restore", "latest", "--target", setup.work.join("restored")])
    #expect(restore.status == 78)
    #expect(restore.stderr.contains("hint: \(Self.keyHint)"), "\(restore.stderr)")

    let keyed = try setup.lifeboat(["verify", "--identity", setup.identity])
    #expect(keyed.status == 0, "\(keyed.stdout) \(keyed.stderr)")
  }

  @Test func deepVerifyChecksRecord() throws {
    let setup = try Setup("keyless-tampered")
    let (id, _) = try setup.backup()
    // A writer to the repository could mark a complete backup partial, so that prune treats
    // it as partial without a key. The encrypted manifest keeps the true status.
    try setup.editRecord(id) { object in
      var backup = object["backup"] as? [String: Any] ?? [:]
      backup["status"] = "partial"
      object["backup"] = backup
    }
    let verify = try setup.lifeboat(["verify", "--identity", setup.identity])
    #expect(verify.status == 65, "\(verify.stdout) \(verify.stderr)")
    #expect(verify.stdout.contains("FAILED \(id): encryption record"), "\(verify.stdout)")
    #expect(verify.stdout.contains("status partial"))
  }

  @Test func listShowsRecordMetadata() throws {
    let setup = try Setup("keyless-list")
    let (id, _) = try setup.backup()

    let keyless = try setup.lifeboat(["list", "--json"])
    #expect(keyless.status == 0, "\(keyless.stderr)")
    let items = try JSONSerialization.jsonObject(with: Data(keyless.stdout.utf8)) as? [[String: Any]]
    let item = try #require(items?.first)
    #expect(item["id"] as? String == id)
    #expect(item["status"] as? String == "complete")
    #expect(item["host"] as? String == "web1")
    #expect(item["files"] as? Int == 8)
    #expect(item["encrypted"] as? Bool == true)
    let stored = try FileManager.default.attributesOfItem(atPath: setup.repository + "/backups/\(id).tar.gz.age")
    #expect((item["archive_bytes"] as? NSNumber)?.int64Value == (stored[.size] as? NSNumber)?.int64Value)

    let keyed = try setup.lifeboat(["list", "--json", "--identity", setup.identity])
    let full = try JSONSerialization.jsonObject(with: Data(keyed.stdout.utf8)) as? [[String: Any]]
    for field in ["time", "host", "status", "files", "total_bytes", "compression"] {
      #expect("\(full?.first?[field] ?? "")" == "\(item[field] ?? "")", "\(field)")
    }
  }

  @Test func statisticsCountEncryptedBackups() throws {
    let setup = try Setup("keyless-statistics")
    let ids = BackupHistory.twicePerDay(days: 1)
    try setup.makeHistory(ids)
    let repo = Repository(store: try LocalObjectStore(root: setup.repository, create: false))
    let statistics = try repo.statistics()
    #expect(statistics.backups == 2)
    #expect(statistics.newestBackupTime == BackupID.time(of: ids[1]))
  }

  /// Returns the `backup_age` check of `lifeboat health --json` output.
  private func backupAgeCheck(_ stdout: String) throws -> (status: String, reason: String) {
    let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any]
    let checks = object?["checks"] as? [[String: String]] ?? []
    let check = try #require(checks.first { $0["name"] == "backup_age" })
    return (check["status"] ?? "", check["reason"] ?? "")
  }
}
