import Foundation

extension Command {
  static let restore = Command(
    name: "restore",
    summary: "Restore a backup in place (stop, swap, check, start) or into a directory.",
    usage: "lifeboat restore <ID|latest> | --before TIME [--target DIR] [--only NAME]... [--dry-run] [options]",
    options: [
      OptionSpec("before", value: "TIME", help: "use the newest backup taken before TIME (UTC unless it has Z or an offset)"),
      OptionSpec("host", value: "NAME", help: "choose only among backups taken on host NAME"),
      OptionSpec("target", short: "t", value: "DIR", help: "restore into DIR (created if missing) instead of in place; runs no commands"),
      OptionSpec("only", value: "NAME", repeats: true, help: "restore only this source: db (every database), or a name such as app.db, config, logs"),
      OptionSpec("dry-run", help: "print the plan (steps, moves, sizes, free space) and change nothing"),
      OptionSpec("json", help: "print the outcome and every step as one JSON object on stdout"),
      OptionSpec("allow-external-symlinks", help: "restore symlinks that point outside the restored sources"),
      OptionSpec("spool-dir", value: "DIR", help: "directory for the downloaded archive (default: beside the first destination)"),
      .setting("stop-command", value: "COMMAND"),
      .setting("start-command", value: "COMMAND"),
      .setting("health-command", value: "COMMAND"),
      .setting("health-url", value: "URL"),
      .setting("health-timeout", value: "DURATION"),
      .setting("hook-timeout", value: "DURATION"),
      .setting("rollback-dir", value: "DIR"),
    ] + CommonOptions.repository + CommonOptions.encryption + CommonOptions.logging,
    maxPositionals: 1,
    examples: [
      "lifeboat restore latest --config /etc/lifeboat/lifeboat.conf --dry-run",
      "lifeboat restore latest --config /etc/lifeboat/lifeboat.conf",
      "lifeboat restore --before '2026-12-03 04:00' --only db --config /etc/lifeboat/lifeboat.conf",
      "lifeboat restore 20261204T031500Z-web1 --target /tmp/r --only config --repo file:///srv/backups",
    ],
    details: """
      Without --target the backup goes back to the paths its sources were read from, in eight
      logged steps: 1 download, 2 verify the archive checksum and every file's SHA-256 into a
      hidden staging directory beside each destination, 3 run stop_command, 4 move the current
      files (a database with its -wal, -shm and -journal) aside to a rollback directory,
      5 rename the restored files into place, 6 PRAGMA integrity_check and foreign_key_check,
      7 run start_command, 8 wait for health_command and/or health_url. If a step from 3 on
      fails, the previous files are put back and the application is started again.
      A database that a running process has open is never replaced unless stop_command runs
      first. Commands and the health check are set in [restore] of the config file.

      With --target DIR the backup is verified the same way and extracted into DIR; no command
      runs and nothing outside DIR changes.

      Exit status: 0 restored; 65 damaged backup and 69 storage unavailable, with nothing
      changed; 1 a step failed and the previous state was put back (130 when a signal
      stopped it); 3 the rollback failed too and the log says what to repair by hand.
      """,
    run: runRestore)

  private static func runRestore(_ context: CommandContext) throws -> Int32 {
    let arguments = context.arguments
    let selector = try restoreSelector(arguments)
    if arguments.has("dry-run") && arguments.has("target") {
      throw UsageError(message: "--dry-run plans an in-place restore; a --target restore changes nothing outside DIR")
    }
    let configuration = try context.configuration()
    let repository = try context.openRepository(create: false)
    let record = try repository.resolve(
      selector, host: try restoreHost(context, repository: repository, selector: selector),
      onSkip: { context.logger.warning("skipped a backup whose manifest cannot be read", [("backup", .string($0))]) })
    if record.manifest.status == "partial" {
      let skipped = record.manifest.warnings.map(\.path)
      context.logger.warning(
        "backup \(record.id) is partial: \(skipped.count) path(s) could not be read when it was taken and are not in it",
        [("paths", .string(skipped.prefix(10).joined(separator: ", ")))])
    }
    let names = try RestoreSelection.names(arguments.values("only"), in: record.manifest)
    context.logger.info("backup chosen", [("id", .string(record.id)), ("selector", .string(selector.description))])

    if let target = arguments.value("target") {
      return try restoreIntoTarget(context, record: record, names: names, target: absolutePath(target))
    }

    var settings = try RestoreSettings(configuration: configuration)
    settings.allowExternalSymlinks = arguments.has("allow-external-symlinks")
    let plan = RestorePlanner.plan(record: record, names: names, settings: settings)
    if arguments.has("dry-run") {
      for line in RestoreOutput.planText(plan) { context.print(line) }
      return plan.blockers.first?.code.rawValue ?? 0
    }
    for note in plan.notes { context.logger.warning(note) }
    if let first = plan.blockers.first {
      for blocker in plan.blockers.dropFirst() { CommandLineTool.report(blocker, logger: context.logger) }
      throw first
    }

    let report = RestoreProcedure(repository: repository, plan: plan, logger: context.logger).run()
    if arguments.has("json") {
      context.print(RestoreOutput.reportJSON(report))
    } else if !arguments.has("quiet") || report.outcome != .restored {
      for line in RestoreOutput.reportText(report) { context.print(line) }
    }
    if let error = report.error, report.outcome != .restored {
      CommandLineTool.report(RestoreOutput.finalError(report, error), logger: context.logger)
    }
    return report.exitStatus
  }

  /// Returns the host whose backups `latest` and `--before` choose from: `--host`, else this machine's
  /// backup host name when the repository has backups of it, else any host (restoring on a new
  /// machine). A shared repository never hands this host another host's database by default.
  private static func restoreHost(_ context: CommandContext, repository: Repository, selector: BackupSelector)
    throws -> String?
  {
    if let host = context.arguments.value("host") { return host }
    guard case .id = selector else {
      let own = try context.hostName()
      let idHost = BackupID.sanitize(own)
      let ids = try repository.listIDs()
      let hasOwn = ids.contains { id in
        let rest = id.dropFirst(17)
        return rest == idHost || (rest.hasPrefix(idHost + "-") && rest.dropFirst(idHost.count + 1).allSatisfy(\.isNumber))
      }
      if hasOwn {
        context.logger.info("choosing among backups of this host", [("host", .string(own))])
        return own
      }
      return nil
    }
    return nil
  }

  private static func restoreSelector(_ arguments: ParsedArguments) throws -> BackupSelector {
    let positional = arguments.positionals.first
    if let before = arguments.value("before") {
      guard positional == nil else {
        throw UsageError(message: "give either a backup id, 'latest' or --before, not both")
      }
      guard let date = TimeArgument.parse(before) else {
        throw UsageError(message: "invalid time '\(before)' for --before: expected \(TimeArgument.formats)")
      }
      return .before(date)
    }
    guard let positional else {
      throw UsageError(message: "missing backup: give an id from 'lifeboat list', 'latest', or --before TIME")
    }
    return positional == "latest" ? .latest : .id(positional)
  }

  private static func restoreIntoTarget(
    _ context: CommandContext, record: BackupRecord, names: [String], target: String
  ) throws -> Int32 {
    let configuration = try context.configuration()
    let runner = RestoreRunner(repository: try context.openRepository(create: false), logger: context.logger)
    runner.allowExternalSymlinks = context.arguments.has("allow-external-symlinks")
    runner.onlyNames = Set(names)
    if let spool = configuration.string("backup.spool_dir") {
      runner.spoolDirectory = absolutePath(spool)
    }

    let summary = try runner.restore(record: record, target: target)
    if context.arguments.has("json") {
      let restored = summary.restoredNames.map(JSONText.quote).joined(separator: ",")
      let warnings = summary.warnings.map(JSONText.quote).joined(separator: ",")
      context.print(
        "{\"id\":\(JSONText.quote(summary.id)),\"outcome\":\"restored\",\"target\":\(JSONText.quote(summary.target)),\"sources\":[\(restored)],\"files\":\(summary.fileCount),\"bytes\":\(summary.bytes),\"warnings\":[\(warnings)]}")
    } else if !context.arguments.has("quiet") {
      context.print(
        "restored backup \(summary.id) into \(summary.target): \(summary.restoredNames.joined(separator: ", ")) (\(summary.fileCount) files, \(formatBytes(summary.bytes))), all checksums verified")
      for warning in summary.warnings { context.print("warning: \(warning)") }
    }
    context.logger.info("restore finished", [("id", .string(summary.id)), ("target", .string(summary.target))])
    return 0
  }
}
