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
    ] + CommonOptions.repository + CommonOptions.logging,
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
      manifest, and PRAGMA integrity_check on the database copy. Exit status 0 only when every
      checked backup is intact, 65 when one is damaged.
      """,
    run: runVerify)

  private static func runVerify(_ context: CommandContext) throws -> Int32 {
    let configuration = try context.configuration()
    let repository = try context.openRepository(create: false)
    let arguments = context.arguments
    let ids = try selectBackups(arguments, repository: repository)
    let spool = (configuration.string("backup.spool_dir") ?? arguments.value("spool-dir")).map { absolutePath($0) }
      ?? NSTemporaryDirectory()

    var failures = 0
    var unavailable = false
    for id in ids {
      let started = Date()
      var problem: String?
      do {
        let record = try repository.record(id: id)
        problem = try check(record, repository: repository, quick: arguments.has("quick"), spool: spool)
      } catch let error as LifeboatError {
        if error.code == .unavailable { unavailable = true }
        problem = error.message
      } catch {
        problem = "\(error)"
      }
      if problem != nil { failures += 1 }
      let seconds = Date().timeIntervalSince(started)
      if arguments.has("json") {
        context.print(
          "{\"id\":\(JSONText.quote(id)),\"ok\":\(problem == nil),\"error\":\(problem.map(JSONText.quote) ?? "null"),\"duration_s\":\(String(format: "%.3f", seconds))}")
      } else if let problem {
        context.print("FAILED \(id): \(problem)")
      } else if !arguments.has("quiet") {
        context.print("ok     \(id)")
      }
    }
    if failures > 0 {
      context.logger.error("\(failures) of \(ids.count) backup(s) failed verification")
      return unavailable ? LifeboatError.Code.unavailable.rawValue : LifeboatError.Code.dataError.rawValue
    }
    context.logger.notice("verify finished", [("backups", .int(Int64(ids.count)))])
    return 0
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
      return [try repository.resolve(arguments.positionals.first ?? "latest").id]
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
      return info.size == archive.size
        ? nil : "archive \(archive.key) has \(info.size) bytes, the manifest says \(archive.size)"
    }
    var options = ArchiveChecker.Options()
    options.checkDatabases = true
    options.spoolDirectory = spool
    let checker = try ArchiveChecker(manifest: record.manifest, extractor: nil, options: options)
    _ = try ArchiveScan.run(record: record, store: repository.store, checker: checker)
    if !checker.databaseProblems.isEmpty {
      return checker.databaseProblems.joined(separator: "; ")
    }
    return nil
  }
}
