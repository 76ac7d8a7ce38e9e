import Foundation

extension Command {
  static let prune = Command(
    name: "prune",
    summary: "Delete the backups a retention policy does not keep, and leftovers of interrupted runs.",
    usage: "lifeboat prune [--keep-last N] [--keep-daily N] ... [--dry-run] [--repo URL] [options]",
    options: CommonOptions.retention + [
      OptionSpec("dry-run", short: "n", help: "print what would be kept and deleted; change nothing"),
      OptionSpec("json", help: "print the decisions as one JSON object on stdout"),
    ] + CommonOptions.repository + CommonOptions.encryption + CommonOptions.logging,
    maxPositionals: 0,
    examples: [
      "lifeboat prune --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --repo file:///srv/backups --dry-run",
      "lifeboat prune --config /etc/lifeboat/lifeboat.conf",
    ],
    details: """
      The rules come from the options or from [retention] in the config file; at least one is
      needed. A backup kept by any rule stays. Periods are UTC and taken from the time in the
      backup id; weeks are ISO weeks (Monday to Sunday). Only complete backups and backups with
      warnings fill the slots: a partial backup stays only while it is newer than the newest
      complete one, and the newest complete backup is never deleted. Each host's backups are
      counted on their own.

      Archives without a manifest and interrupted uploads older than a day are removed too.
      If the listing fails or any manifest is damaged, nothing is deleted. prune takes the
      repository lock, except with --dry-run, which writes nothing.

      Encrypted backups need no key: their host and status come from the plain encryption
      record. A backup whose record was written before lifeboat stored them there is kept, with
      the rule status-unknown and a warning naming it, until a prune with the key decides.

      Exit status 0 on success, 64 without a rule, 65 when a manifest is damaged, 69 when
      the storage is unavailable, 75 when another run holds the lock.
      """,
    run: runPrune)

  private static func runPrune(_ context: CommandContext) throws -> Int32 {
    let configuration = try context.configuration()
    let policy = try RetentionPolicy(configuration: configuration)
    try policy.validate()
    let dryRun = context.arguments.has("dry-run")
    let repository = try context.openRepository(create: false)

    let pruner = Pruner(repository: repository, policy: policy, logger: context.logger)
    let report: PruneReport
    if dryRun {
      // Read-only, so it needs no lock, and it does not wait for a backup that holds one.
      report = try pruner.run(dryRun: true)
    } else {
      let lock = try context.lock(repository, command: "prune")
      defer { lock.release() }
      ExitActions.interruptionNote = "prune stopped before it finished; run it again"
      report = try pruner.run(dryRun: false)
      ExitActions.interruptionNote = nil
    }

    PruneOutput.print(report, context: context)
    return 0
  }
}

/// Prints a prune report as a table and a summary line, or as JSON.
enum PruneOutput {
  static func print(_ report: PruneReport, context: CommandContext) {
    if context.arguments.has("json") {
      context.print(json(report))
      return
    }
    logSummary(report, logger: context.logger)
    guard !context.arguments.has("quiet") else { return }
    let verb = report.dryRun ? ("would keep", "would delete") : ("keep", "deleted")
    for backup in report.backups {
      let action = backup.keep ? verb.0 : verb.1
      let rules = backup.rules.map(\.rawValue).joined(separator: ", ")
      let line = pad(action, 13) + pad(backup.id, 36) + pad(backup.status, 10) + rules
      context.print(backup.keep ? line : line.trimmingCharacters(in: .whitespaces))
    }
    for leftover in report.leftovers {
      context.print(
        pad(verb.1, 13) + leftover.key
          + " (\(leftover.key.hasSuffix(".encryption.json") ? "encryption record" : "archive") without a manifest, written \(formatSeconds(leftover.age)) ago)")
    }
    context.print(summaryLine(report))
  }

  /// `prune: kept 7 backups, deleted 3 (1.2 MB), removed 1 leftover archive, aborted 0 stale uploads`.
  static func summaryLine(_ report: PruneReport) -> String {
    let deleted = "\(report.deleted.count) (\(formatBytes(report.bytesFreed)))"
    if report.dryRun {
      return "prune dry run: would keep \(report.kept.count) backups, delete \(deleted), remove "
        + "\(report.leftovers.count) leftover archive(s), abort \(report.staleUploads) stale "
        + "upload(s); nothing was changed"
    }
    return "prune: kept \(report.kept.count) backups, deleted \(deleted), removed "
      + "\(report.leftovers.count) leftover archive(s), aborted \(report.staleUploads) stale upload(s)"
  }

  static func logSummary(_ report: PruneReport, logger: Logger) {
    logger.notice("prune finished", [
      ("policy", .string(report.policy.summary)), ("dry_run", .bool(report.dryRun)),
      ("kept", .int(Int64(report.kept.count))), ("deleted", .int(Int64(report.deleted.count))),
      ("leftovers", .int(Int64(report.leftovers.count))),
      ("stale_uploads", .int(Int64(report.staleUploads))), ("bytes_freed", .int(report.bytesFreed)),
    ])
  }

  static func json(_ report: PruneReport) -> String {
    let policy = RetentionPolicy.settingNames.map { name, rule in
      "\(JSONText.quote(String(name.dropFirst("retention.".count)))):\(report.policy[rule])"
    }
    let backups = report.backups.map { backup -> String in
      let rules = backup.rules.map { JSONText.quote($0.rawValue) }.joined(separator: ",")
      return "{\"id\":\(JSONText.quote(backup.id)),\"host\":\(backup.host.map(JSONText.quote) ?? "null"),"
        + "\"status\":\(JSONText.quote(backup.status)),"
        + "\"action\":\(JSONText.quote(backup.keep ? "keep" : "delete")),\"rules\":[\(rules)],"
        + "\"archive_bytes\":\(backup.archiveBytes)}"
    }
    let leftovers = report.leftovers.map {
      "{\"key\":\(JSONText.quote($0.key)),\"size\":\($0.size),\"age_s\":\(Int64($0.age))}"
    }
    return "{\"dry_run\":\(report.dryRun),\"policy\":{\(policy.joined(separator: ","))},"
      + "\"backups\":[\(backups.joined(separator: ","))],"
      + "\"leftovers\":[\(leftovers.joined(separator: ","))],"
      + "\"stale_uploads\":\(report.staleUploads),\"kept\":\(report.kept.count),"
      + "\"deleted\":\(report.deleted.count),\"bytes_freed\":\(report.bytesFreed)}"
  }

  private static func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
  }
}
