import Foundation
import Testing

@testable import Lifeboat

/// Encrypted backups through the real binary: keygen, backup, list, verify and restore, with
/// `age`, GNU tar and sha256sum as oracles.
@Suite struct EncryptedBackupTests {
  /// A corpus, two identities made by `lifeboat keygen`, and a config file that encrypts to both.
  struct Setup {
    let work: TemporaryDirectory
    let corpus: String
    let repo: String
    let config: String
    let keys: [String]
    let recipients: [String]

    init(_ label: String) throws {
      work = try TemporaryDirectory(label)
      corpus = work.join("corpus")
      try TestSupport.makeCorpus(corpus, ["--size", "SMALL"])
      repo = "file://" + work.join("repo")
      var keys: [String] = []
      var recipients: [String] = []
      for name in ["online-key.txt", "offline-key.txt"] {
        let result = try TestSupport.lifeboat(["keygen", "--output", work.join(name)])
        guard result.status == 0 else { throw TestFailure("keygen failed: \(result.stderr)") }
        keys.append(work.join(name))
        recipients.append(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
      }
      self.keys = keys
      self.recipients = recipients
      config = work.join("lifeboat.conf")
      try """
        [source]
        database = corpus/app.db
        path = corpus/config
        path = corpus/logs
        [repository]
        url = \(repo)
        [encryption]
        recipient = \(recipients[0])
        recipient = \(recipients[1])
        """.write(toFile: config, atomically: true, encoding: .utf8)
    }

    func lifeboat(_ arguments: [String], _ environment: [String: String] = [:]) throws -> ProcessResult {
      try TestSupport.lifeboat(arguments + ["--config", config], environment: environment)
    }

    func backup() throws -> String {
      let result = try lifeboat(["backup", "--json"])
      guard result.status == 0 else { throw TestFailure("backup failed: \(result.stderr)") }
      let summary = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
      return summary?["id"] as? String ?? ""
    }

    func objects() throws -> [String] {
      try FileManager.default.contentsOfDirectory(atPath: work.join("repo/backups")).sorted()
    }
  }

  @Test func keygenWritesAgeIdentityFile() throws {
    let setup = try Setup("enc-keygen")
    let key = setup.keys[0]
    var info = stat()
    stat(key, &info)
    #expect(info.st_mode & 0o777 == 0o600)
    let text = try String(contentsOfFile: key, encoding: .utf8)
    let lines = text.split(separator: "\n")
    #expect(lines.count == 3)
    #expect(lines[0].hasPrefix("# created: "))
    #expect(lines[1] == "# public key: \(setup.recipients[0])")
    #expect(lines[2].hasPrefix("AGE-SECRET-KEY-1"))
    let derived = try TestSupport.run("/usr/bin/age-keygen", ["-y", key])
    #expect(derived.stdout == setup.recipients[0] + "\n")

    let again = try TestSupport.lifeboat(["keygen", "--output", key])
    #expect(again.status == 1)
    #expect(again.stderr.contains("never overwritten"))
    #expect(try String(contentsOfFile: key, encoding: .utf8) == text)
  }

  @Test func roundTripWithOfflineKey() throws {
    let setup = try Setup("enc-roundtrip")
    let id = try setup.backup()
    #expect(try setup.objects() == [
      "\(id).encryption.json", "\(id).manifest.json.age", "\(id).tar.gz.age",
    ])
    let archive = setup.work.join("repo/backups/\(id).tar.gz.age")
    let head = try String(decoding: AgeFixtures.read(archive).prefix(22), as: UTF8.self)
    #expect(head == "age-encryption.org/v1\n")

    // The second recipient's key alone restores everything.
    let target = setup.work.join("restored")
    let restore = try setup.lifeboat(["restore", id, "--target", target, "--identity", setup.keys[1]])
    #expect(restore.status == 0, "\(restore.stderr)")
    for tree in ["config", "logs"] {
      let diff = try TestSupport.shell("diff -r --no-dereference '\(setup.corpus)/\(tree)' '\(target)/\(tree)'")
      #expect(diff.status == 0, "\(diff.stdout)")
    }
    let dumps = try TestSupport.shell(
      "cmp <(sqlite3 '\(setup.corpus)/app.db' .dump) <(sqlite3 '\(target)/app.db' .dump)")
    #expect(dumps.status == 0, "\(dumps.stdout)")

    let verify = try setup.lifeboat(["verify", id, "--identity", setup.keys[0]])
    #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")

    // The manifest object decrypts with age too; its checksums are those of the plain archive.
    let manifestText = try TestSupport.shell(
      "age -d -i '\(setup.keys[1])' '\(setup.work.join("repo/backups/\(id).manifest.json.age"))'")
    #expect(manifestText.status == 0, "\(manifestText.stderr)")
    let manifest = try JSONSerialization.jsonObject(with: Data(manifestText.stdout.utf8)) as? [String: Any]
    let stored = manifest?["archive"] as? [String: Any]
    let plainSum = try TestSupport.shell("age -d -i '\(setup.keys[0])' '\(archive)' | sha256sum")
    #expect(stored?["sha256"] as? String == String(plainSum.stdout.prefix(64)))
    #expect(stored?["stored_sha256"] as? String == (try TestSupport.sha256(archive)))
    #expect(stored?["key"] as? String == "backups/\(id).tar.gz.age")
  }

  @Test func withoutKeyListAndQuickVerifyWork() throws {
    let setup = try Setup("enc-nokey")
    let id = try setup.backup()

    let list = try setup.lifeboat(["list", "--json"])
    #expect(list.status == 0, "\(list.stderr)")
    let items = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]]
    #expect(items?.count == 1)
    #expect(items?.first?["status"] as? String == "complete")
    #expect(items?.first?["encrypted"] as? Bool == true)
    #expect(items?.first?["id"] as? String == id)
    let size = (try FileManager.default.attributesOfItem(atPath: setup.work.join("repo/backups/\(id).tar.gz.age"))[.size] as? NSNumber)?.int64Value
    #expect((items?.first?["archive_bytes"] as? NSNumber)?.int64Value == size)

    let listed = try setup.lifeboat(["list", "--json", "--identity", setup.keys[0]])
    let full = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]]
    #expect(full?.first?["status"] as? String == "complete")
    #expect(full?.first?["encrypted"] as? Bool == true)

    let quick = try setup.lifeboat(["verify", "--quick", "--all"])
    #expect(quick.status == 0, "\(quick.stdout) \(quick.stderr)")
    let truncate = try TestSupport.shell("truncate -s -1 '\(setup.work.join("repo/backups/\(id).tar.gz.age"))'")
    #expect(truncate.status == 0)
    let damaged = try setup.lifeboat(["verify", "--quick", "--all"])
    #expect(damaged.status == 65)
    #expect(damaged.stdout.contains("FAILED \(id)"))
  }

  @Test func wrongKeyNamesBackupAndRecipients() throws {
    let setup = try Setup("enc-wrongkey")
    let id = try setup.backup()
    let stranger = try AgeFixtures.ageKeygen(in: setup.work, name: "stranger.txt")

    for extra in [["--identity", stranger.path], []] {
      let target = setup.work.join("restored")
      let restore = try setup.lifeboat(["restore", "latest", "--target", target] + extra)
      #expect(restore.status == 78)
      #expect(restore.stderr.contains("backup \(id)"))
      #expect(restore.stderr.contains(setup.recipients[0]))
      #expect(restore.stderr.contains(setup.recipients[1]))
      #expect(restore.stderr.contains("hint: set identity_file"))
      #expect(!restore.stderr.contains("error:0"), "no libcrypto error stack")
      #expect(!FileManager.default.fileExists(atPath: target + "/app.db"))
    }
    let wrong = try setup.lifeboat(["verify", "--identity", stranger.path])
    #expect(wrong.status == 78)
    #expect(wrong.stdout.contains("tried \(stranger.recipient)"))
  }

  @Test func plainAndEncryptedShareRepository() throws {
    let setup = try Setup("enc-mixed")
    let plain = try TestSupport.lifeboat([
      "backup", "--path", setup.corpus + "/config", "--repo", setup.repo, "--host", "plain", "--json",
    ])
    #expect(plain.status == 0, "\(plain.stderr)")
    let id = try setup.backup()

    let verify = try setup.lifeboat(["verify", "--all", "--identity", setup.keys[0]])
    #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
    let list = try setup.lifeboat(["list", "--json", "--identity", setup.keys[0]])
    let items = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]]
    #expect(Set(items?.compactMap { $0["encrypted"] as? Bool } ?? []) == [false, true])

    let target = setup.work.join("restored")
    let restore = try setup.lifeboat(["restore", id, "--target", target, "--only", "config", "--identity", setup.keys[0]])
    #expect(restore.status == 0, "\(restore.stderr)")
    let plainTarget = setup.work.join("plain-restored")
    let plainRestore = try TestSupport.lifeboat([
      "restore", String(try setup.objects().first { $0.contains("-plain.") }!.prefix { $0 != "." }),
      "--target", plainTarget, "--repo", setup.repo,
    ])
    #expect(plainRestore.status == 0, "\(plainRestore.stderr)")
  }

  @Test func pruneRemovesEveryObject() throws {
    let setup = try Setup("enc-prune")
    let first = try setup.backup()
    let second = try setup.backup()
    // A run that died between the encryption record and the manifest, two days ago.
    let leftover = "20200101T000000Z-gone"
    let leftoverPath = setup.work.join("repo/backups/\(leftover).encryption.json")
    try "{}".write(toFile: leftoverPath, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes(
      [.modificationDate: Date().addingTimeInterval(-2 * 86_400)], ofItemAtPath: leftoverPath)

    let prune = try setup.lifeboat(["prune", "--keep-last", "1", "--identity", setup.keys[0]])
    #expect(prune.status == 0, "\(prune.stdout) \(prune.stderr)")
    #expect(try setup.objects() == [
      "\(second).encryption.json", "\(second).manifest.json.age", "\(second).tar.gz.age",
    ])
    #expect(prune.stdout.contains(first))
    #expect(prune.stdout.contains("\(leftover).encryption.json (encryption record without a manifest"))

    // The encryption record carries the status, so prune needs no key. A backup taken in the
    // same second as the one prune removed may reuse its id, and ids of one second sort by
    // their `-N` suffix, so the survivor is the greater id.
    let third = try setup.backup()
    let survivor = max(second, third)
    let withoutKey = try setup.lifeboat(["prune", "--keep-last", "1"])
    #expect(withoutKey.status == 0, "\(withoutKey.stdout) \(withoutKey.stderr)")
    #expect(try setup.objects() == [
      "\(survivor).encryption.json", "\(survivor).manifest.json.age", "\(survivor).tar.gz.age",
    ])
  }

  @Test func damagedArchiveFailsRestore() throws {
    let setup = try Setup("enc-damaged")
    let id = try setup.backup()
    let archive = setup.work.join("repo/backups/\(id).tar.gz.age")
    let original = try AgeFixtures.read(archive)
    let chunk = AgeFixtures.chunk + 16
    var scanned = 0
    let headerLength = try #require(AgeHeader.length(in: original, scannedUpTo: &scanned))

    var flipped = original
    flipped[headerLength + 16 + chunk + 100] ^= 0x04
    try AgeFixtures.write(flipped, to: archive)
    let target = setup.work.join("restored")
    let restore = try setup.lifeboat(["restore", id, "--target", target, "--identity", setup.keys[0]])
    #expect(restore.status == 65)
    #expect(restore.stderr.contains("chunk 1 failed authentication"), "\(restore.stderr)")
    #expect((try? FileManager.default.contentsOfDirectory(atPath: target))?.isEmpty ?? true)

    try AgeFixtures.write(Array(original.prefix(headerLength + 16 + 2 * chunk)), to: archive)
    let verify = try setup.lifeboat(["verify", id, "--identity", setup.keys[0]])
    #expect(verify.status == 65)
    #expect(verify.stdout.contains("truncated at a chunk boundary"), "\(verify.stdout)")
  }

  @Test func passphraseBackupOpensWithAge() throws {
    let setup = try Setup("enc-passphrase")
    let repo = "file://" + setup.work.join("prepo")
    try "correct horse battery staple\n".write(toFile: setup.work.join("pass"), atomically: true, encoding: .utf8)
    let backup = try TestSupport.lifeboat(
      ["backup", "--path", setup.corpus + "/config", "--repo", repo, "--passphrase-env", "BACKUP_PASSPHRASE"],
      environment: ["BACKUP_PASSPHRASE": "correct horse battery staple", "LIFEBOAT_ENCRYPTION_SCRYPT_WORK_FACTOR": "12"])
    #expect(backup.status == 0, "\(backup.stderr)")

    // The passphrase through a file descriptor, as a secrets manager would hand it over.
    let target = setup.work.join("restored")
    let restore = try TestSupport.shell(
      "LIFEBOAT_CONFIG=/dev/null '\(TestSupport.lifeboatBinary)' restore latest --target '\(target)' --repo '\(repo)' --passphrase-fd 3 3< '\(setup.work.join("pass"))'")
    #expect(restore.status == 0, "\(restore.stderr)")
    #expect(try TestSupport.shell("diff -r '\(setup.corpus)/config' '\(target)/config'").status == 0)

    let archive = try #require(
      try FileManager.default.contentsOfDirectory(atPath: setup.work.join("prepo/backups")).first { $0.hasSuffix(".tar.gz.age") })
    let extracted = setup.work.join("by-hand")
    try FileManager.default.createDirectory(atPath: extracted, withIntermediateDirectories: true)
    let age = try AgeFixtures.onTerminal(
      "age -d -o '\(extracted)/archive.tar.gz' '\(setup.work.join("prepo/backups/" + archive))'",
      input: "correct horse battery staple\n")
    #expect(age.status == 0, "\(age.stdout)")
    let sums = try TestSupport.shell("tar xzf archive.tar.gz && sha256sum -c --strict --quiet SHA256SUMS", directory: extracted)
    #expect(sums.status == 0, "\(sums.stdout) \(sums.stderr)")
  }
}
