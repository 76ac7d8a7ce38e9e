import Foundation

extension Command {
  static let verify = Command(
    name: "verify",
    summary: "Re-read stored backups and check every checksum and the database's integrity.",
    usage: "lifeboat verify [ID|latest | --all | --latest N | --sample PERCENT] [--quick] [--repo URL] [options]",
    options: [
      OptionSpec("all", help: "verify every backup in the repository"),
      OptionSpec("latest", value: "N", help: "verify the newest N backups"),
      OptionSpec("sample", value: "PERCENT", help: "verify a random sample: 10% of the backups (at least one), or a count such as 3"),
      OptionSpec("quick", help: "only check that each archive exists with the size in its manifest"),
      OptionSpec("json", help: "print one JSON object per backup on stdout"),
      OptionSpec("spool-dir", value: "DIR", help: "directory for the temporary database copy"),
      OptionSpec("metrics-file", value: "FILE", help: "update this Prometheus textfile when the run ends"),
    ] + CommonOptions.repository + CommonOptions.encryption + CommonOptions.logging,
    maxPositionals: 1,
    examples: [
      "lifeboat verify --repo file:///srv/backups",
      "lifeboat verify --all --config /etc/lifeboat/lifeboat.conf",
      "lifeboat verify --latest 3 --json --repo file:///srv/backups",
      "lifeboat verify --sample 10% --config /etc/lifeboat/lifeboat.conf",
    ],
    details: """
      Without an id or option the newest backup is checked; --latest N checks the newest N,
      --sample a random share (at least one backup), --all every backup.
      Without --quick each archive is read in full: its SHA-256, every member against the
      manifest, and PRAGMA integrity_check on the database copy. An encrypted backup needs its
      identity or passphrase, and its plain encryption record must agree with its manifest.
      --quick needs no key: it reads an encrypted backup's sizes from its encryption record.

      Each backup prints as 'ok', 'FAILED' (damaged or unreadable) or 'NO KEY' (encrypted, and
      no configured identity opens it). Exit status 0 only when every checked backup is intact,
      65 when one is damaged, 69 when the storage is unavailable, and 78 when the only problem
      is a missing key.
      """,
    run: runVerify,
    isMonitored: true)

  private static func runVerify(_ context: CommandContext) throws -> Int32 {
    let configuration = try context.configuration()
    let repository = try context.openRepository(create: false)
    let arguments = context.arguments
    let ids = try selectBackups(arguments, repository: repository)
    let spool = (configuration.string("backup.spool_dir") ?? arguments.value("spool-dir")).map { absolutePath($0) }
      ?? NSTemporaryDirectory()

    var failures = 0
    var unavailable = false
    var keyMissing: [String] = []
    for id in ids {
      let started = Date()
      var problem: String?
      var needsKey = false
      do {
        if arguments.has("quick"), let sealed = try repository.encryptionRecord(id: id) {
          problem = try checkStored(sealed, id: id, store: repository.store)
        } else {
          let record = try repository.record(id: id)
          problem = try check(record, repository: repository, quick: arguments.has("quick"), spool: spool)
        }
      } catch let error as LifeboatError where error.code == .configuration {
        // Reading a manifest raises `.configuration` only when no configured key opens it: the
        // backup is not checked, which is no sign of damage.
        needsKey = true
        problem = error.message
      } catch let error as LifeboatError {
        if error.code == .unavailable { unavailable = true }
        problem = error.message
      } catch StorageError.unavailable(let location, let reason) {
        unavailable = true
        problem = "storage \(location) unavailable: \(reason)"
      } catch {
        problem = "\(error)"
      }
      // verify takes no lock, so a prune running meanwhile may delete a listed backup.
      if problem != nil, arguments.has("all"),
        (try? repository.hasManifest(id: id)) == false
      {
        context.logger.notice("backup \(id) was deleted while verify ran (by prune); skipped")
        continue
      }
      if needsKey {
        keyMissing.append(id)
      } else if let problem {
        failures += 1
        if context.report.error == nil { context.report.error = "backup \(id): \(problem)" }
      }
      let seconds = Date().timeIntervalSince(started)
      if arguments.has("json") {
        context.print(
          "{\"id\":\(JSONText.quote(id)),\"ok\":\(problem == nil),\"key_required\":\(needsKey),\"error\":\(problem.map(JSONText.quote) ?? "null"),\"duration_s\":\(String(format: "%.3f", seconds))}")
      } else if let problem {
        context.print("\(needsKey ? "NO KEY" : "FAILED") \(id): \(problem)")
      } else if !arguments.has("quiet") {
        context.print("ok     \(id)")
      }
    }
    if failures > 0 {
      context.logger.error("\(failures) of \(ids.count) backup(s) failed verification")
      context.report.error = "\(failures) of \(ids.count) backup(s) failed verification; first: "
        + (context.report.error ?? "")
      if !keyMissing.isEmpty {
        context.logger.warning("\(keyMissing.count) encrypted backup(s) not verified: no configured identity opens them")
      }
      return unavailable ? LifeboatError.Code.unavailable.rawValue : LifeboatError.Code.dataError.rawValue
    }
    if let first = keyMissing.first {
      let others = keyMissing.count > 1 ? " and \(keyMissing.count - 1) more" : ""
      throw LifeboatError(
        .configuration,
        "\(keyMissing.count) of \(ids.count) backup(s) not verified, because no configured identity "
          + "opens them: \(first)\(others); nothing was found damaged",
        hint: "set identity_file in [encryption] or pass --identity FILE; 'lifeboat verify --quick' "
          + "checks the stored sizes without a key")
    }
    context.logger.info("verify finished", [("backups", .int(Int64(ids.count)))])
    return 0
  }

  /// Checks that each object an encryption record lists exists with its stored size; no key is
  /// needed. Returns what is wrong, or nil.
  private static func checkStored(_ record: EncryptionRecord, id: String, store: ObjectStore) throws -> String? {
    guard record.id == id else { return "encryption record of backup \(id) names backup \(record.id)" }
    for object in record.objects {
      guard let info = try store.head(key: object.key) else { return "\(object.key) is missing" }
      if info.size != object.size {
        return "\(object.key) has \(info.size) bytes, the encryption record says \(object.size)"
      }
    }
    return nil
  }

  /// Returns the ids to verify, oldest first, from the one selection the command line makes.
  private static func selectBackups(_ arguments: ParsedArguments, repository: Repository) throws -> [String] {
    let selections = [
      arguments.positionals.isEmpty ? nil : "a backup id", arguments.has("all") ? "--all" : nil,
      arguments.has("latest") ? "--latest" : nil, arguments.has("sample") ? "--sample" : nil,
    ].compactMap { $0 }
    guard selections.count <= 1 else {
      throw UsageError(message: "give only one of \(selections.joined(separator: ", "))")
    }

    var count: Int?
    var sample: BackupSample?
    if let text = arguments.value("latest") {
      guard let value = Int(text), value > 0 else {
        throw UsageError(message: "invalid value '\(text)' for --latest: expected a whole number of backups, at least 1")
      }
      count = value
    }
    if let text = arguments.value("sample") {
      guard let parsed = BackupSample.parse(text) else {
        throw UsageError(message: "invalid value '\(text)' for --sample: expected a percentage such as 10% (at most 100%) or a count such as 3")
      }
      sample = parsed
    }
    guard arguments.has("all") || count != nil || sample != nil else {
      return [try repository.resolveID(arguments.positionals.first ?? "latest", mustExist: true)]
    }

    let all = try repository.listIDs()
    guard !all.isEmpty else { throw LifeboatError(.failure, "no backups in \(repository.store.location)") }
    if let count { return Array(all.suffix(count)) }
    if let sample {
      var generator = SystemRandomNumberGenerator()
      return sample.choose(from: all, using: &generator)
    }
    return all
  }

  /// Returns a description of what is wrong with the backup, or nil when it is intact.
  private static func check(_ record: BackupRecord, repository: Repository, quick: Bool, spool: String) throws
    -> String?
  {
    guard let archive = record.manifest.archive else { return "manifest names no archive" }
    if quick {
      guard let info = try repository.store.head(key: archive.key) else {
        return "archive \(archive.key) is missing"
      }
      let expected = archive.storedSize ?? archive.size
      return info.size == expected
        ? nil : "archive \(archive.key) has \(info.size) bytes, the manifest says \(expected)"
    }
    var options = ArchiveChecker.Options()
    options.checkDatabases = true
    options.spoolDirectory = spool
    let checker = try ArchiveChecker(manifest: record.manifest, extractor: nil, options: options)
    _ = try ArchiveScan.run(record: record, store: repository.store, checker: checker)
    if !checker.databaseProblems.isEmpty {
      return checker.databaseProblems.joined(separator: "; ")
    }
    // prune, health and list trust the plain encryption record when no key is configured, so
    // a record that disagrees with the decrypted manifest is damage.
    if record.encryption != nil {
      let key = repository.encryptionRecordKey(id: record.id)
      guard let sealed = try repository.encryptionRecord(id: record.id) else {
        return "encryption record \(key) is missing"
      }
      if let disagreement = sealed.disagreement(with: record.manifest) {
        return "encryption record \(key) disagrees with the manifest: \(disagreement)"
      }
    }
    return nil
  }
}
