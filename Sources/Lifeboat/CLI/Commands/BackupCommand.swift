import Foundation

extension Command {
  static let backup = Command(
    name: "backup",
    summary: "Take a backup: copy the databases online, archive the trees, store and commit it.",
    usage: "lifeboat backup [--db FILE]... [--path DIR]... [--repo URL] [options]",
    options: [
      OptionSpec("db", value: "FILE", repeats: true, help: "SQLite database to copy with the online backup API"),
      OptionSpec("path", value: "DIR", repeats: true, help: "directory tree to archive; NAME=DIR stores it as NAME"),
      OptionSpec("exclude", value: "GLOB", repeats: true, help: "leave out matching paths: '*.tmp', 'logs/cache/**'"),
      OptionSpec("one-file-system", help: "do not cross into other mounted file systems"),
      OptionSpec("compression", value: "FORMAT", help: "gzip (default, .tar.gz) or zstd (.tar.zst)"),
      OptionSpec("compression-level", value: "N", help: "gzip 1-9 (default 6), zstd 1-19 (default 3)"),
      OptionSpec("threads", value: "N", help: "compression threads (default: number of cores)"),
      OptionSpec("spool-dir", value: "DIR", help: "where the temporary database copy is made (default $TMPDIR, else /var/tmp)"),
      OptionSpec("busy-timeout", value: "DURATION", help: "wait this long for a locked database (default 120s)"),
      OptionSpec("host", value: "NAME", help: "host name recorded in the backup id"),
      OptionSpec("part-size", value: "SIZE", help: "S3 multipart part size (default 8MiB, at least 5MiB)"),
      OptionSpec("parts-in-flight", value: "N", help: "S3 parts uploaded at once (default 2)"),
      OptionSpec("dry-run", short: "n", help: "list what would be archived, with sizes; read and store nothing"),
      OptionSpec("json", help: "print the summary as JSON on stdout"),
      OptionSpec("recipient", value: "KEY", repeats: true, help: "encrypt to this age1... public key (repeatable)"),
      OptionSpec("prune", help: "after a successful backup, prune with the --keep-* rules or [retention]"),
      OptionSpec("metrics-file", value: "FILE", help: "update this Prometheus textfile when the run ends"),
    ] + CommonOptions.retention + CommonOptions.repository + CommonOptions.encryption + CommonOptions.logging,
    maxPositionals: 0,
    examples: [
      "lifeboat backup --db /var/lib/app/app.db --path /etc/app --path /var/log/app --repo file:///srv/backups",
      "lifeboat backup --config /etc/lifeboat/lifeboat.conf --compression zstd",
      "lifeboat backup --config /etc/lifeboat/lifeboat.conf --prune --keep-daily 7 --keep-weekly 4",
    ],
    details: """
      Exit status 0 when every source was stored, 2 when the backup was stored with warnings
      (files changed, vanished or could not be read; the summary lists them), 75 when another
      run holds the repository lock, other values on failure (see 'lifeboat help').

      With --prune the backup is followed by 'lifeboat prune' under the same lock, unless the
      backup failed or is partial. A failed prune makes the exit status that of the failure,
      though the backup stays stored.
      """,
    run: runBackup,
    isMonitored: true)

  private static func runBackup(_ context: CommandContext) throws -> Int32 {
    let configuration = try context.configuration()
    let logger = context.logger
    var plan = try makePlan(configuration)
    try plan.validate(configuration: configuration)
    if context.arguments.has("dry-run") { return try listPlan(plan, context: context) }
    let compression = try compressionOptions(configuration)
    let prune = context.arguments.has("prune")
    let policy = try RetentionPolicy(configuration: configuration)
    if prune { try policy.validate() }
    let repository = try context.openRepository(create: true)
    // A local repository or the spool copy inside a source tree would be archived into itself.
    if let local = repository.store.layer(LocalObjectStore.self) {
      plan.selection.excludedPaths.insert(FilePath(local.root))
    }
    plan.selection.excludes.append("lifeboat-\(getpid())-*")
    for name in SQLiteSnapshot.removeStaleSpoolFiles(in: plan.spoolDirectory) {
      logger.info("removed a database copy left by a killed run", [("file", .string(name))])
    }
    try context.logEncryption(repository)
    let lock = try context.lock(repository, command: "backup")
    defer { lock.release() }

    let runner = BackupRunner(
      plan: plan, repository: repository, compression: compression,
      host: try context.hostName(), logger: logger)
    runner.faults = try context.faults()
    defer { context.report.backupID = runner.backupID }
    let showProgress = isatty(STDERR_FILENO) != 0 && logger.level <= .info && !context.arguments.has("quiet")
    let progress = ProgressLine(enabled: showProgress)
    if showProgress, let listed = try? SnapshotBuilder.list(plan) {
      // A stat-only walk gives the total for the ETA; it reads no file contents.
      progress.total = listed.files.reduce(0) { $0 + $1.size }
      runner.listedFiles = listed.files
    }
    runner.progress = { progress.update(bytes: $0) }
    logger.beforeTerminalLine = { progress.clear() }
    defer { logger.beforeTerminalLine = nil }
    ExitActions.interruptionNote = "no backup was recorded by this run"
    let summary = try runner.run()
    ExitActions.interruptionNote = nil
    progress.clear()
    context.report.status = RunStatus(backupStatus: summary.status)
    context.report.bytesRead = summary.bytesRead
    context.report.bytesWritten = summary.archiveBytes
    context.report.files = summary.fileCount
    if !summary.warnings.isEmpty {
      let paths = summary.warnings.prefix(5).map(\.path).joined(separator: ", ")
      let more = summary.warnings.count > 5 ? " and \(summary.warnings.count - 5) more" : ""
      context.report.error = "\(summary.warnings.count) warning(s): \(paths)\(more)"
    }

    var pruneReport: PruneReport?
    var pruneError: Error?
    if prune && summary.status == "partial" {
      logger.warning("prune skipped: the backup is partial, so it replaces no earlier backup")
    } else if prune {
      ExitActions.interruptionNote = "backup \(summary.id) was stored; prune stopped before it finished"
      do {
        pruneReport = try Pruner(repository: repository, policy: policy, logger: logger).run(dryRun: false)
      } catch {
        pruneError = error
      }
      ExitActions.interruptionNote = nil
    }

    if context.arguments.has("json") {
      let warnings = summary.warnings.map { "{\"path\":\(JSONText.quote($0.path)),\"message\":\(JSONText.quote($0.message))}" }
      let pruneField = pruneReport.map { ",\"prune\":\(PruneOutput.json($0))" } ?? ""
      context.print(
        "{\"id\":\(JSONText.quote(summary.id)),\"status\":\(JSONText.quote(summary.status)),\"archive\":\(JSONText.quote(summary.archiveKey)),\"archive_bytes\":\(summary.archiveBytes),\"bytes_read\":\(summary.bytesRead),\"files\":\(summary.fileCount),\"duration_s\":\(String(format: "%.3f", summary.duration)),\"requests\":\(summary.requests.json),\"warnings\":[\(warnings.joined(separator: ","))]\(pruneField)}")
    } else if !context.arguments.has("quiet") {
      context.print(
        "backup \(summary.id) \(summary.status): \(summary.fileCount) files, \(formatBytes(summary.bytesRead)) read, \(formatBytes(summary.archiveBytes)) stored in \(String(format: "%.1f", summary.duration)) s")
      if !summary.warnings.isEmpty {
        context.print("\(summary.warnings.count) warning(s):")
        for warning in summary.warnings.prefix(20) { context.print("  \(warning.path): \(warning.message)") }
        if summary.warnings.count > 20 { context.print("  … and \(summary.warnings.count - 20) more (see the manifest)") }
      }
    }
    logger.info("backup finished", [
      ("id", .string(summary.id)), ("status", .string(summary.status)),
      ("bytes_read", .int(summary.bytesRead)), ("archive_bytes", .int(summary.archiveBytes)),
      ("files", .int(Int64(summary.fileCount))), ("warnings", .int(Int64(summary.warnings.count))),
      ("duration_s", .double(summary.duration)),
    ] + summary.requests.logFields)

    if let pruneReport, !context.arguments.has("json") {
      PruneOutput.print(pruneReport, context: context)
    }
    if let pruneError {
      let failure = CommandLineTool.operatorError(pruneError)
      throw LifeboatError(
        failure.code, "backup \(summary.id) was stored, but prune failed: \(failure.message)",
        hint: failure.hint)
    }
    return summary.status == "complete" ? 0 : LifeboatError.Code.partial.rawValue
  }

  /// Prints every path the backup would archive with its size, and the total.
  private static func listPlan(_ plan: SnapshotPlan, context: CommandContext) throws -> Int32 {
    let result = try SnapshotBuilder.list(plan, logger: context.logger)
    var total: Int64 = 0
    for file in result.files {
      total += file.size
      let size = file.type == "file" ? formatBytes(file.size) : file.type
      let padded = String(repeating: " ", count: max(0, 10 - size.count)) + size
      context.print("\(padded)  \(file.path)")
    }
    let files = result.files.filter { $0.type == "file" }.count
    context.print("dry run: would archive \(files) files, \(formatBytes(total)), from \(result.sources.count) sources; nothing was read or stored")
    for warning in result.warnings { context.print("warning: \(warning.path): \(warning.message)") }
    return result.warnings.isEmpty ? 0 : LifeboatError.Code.partial.rawValue
  }

  static func makePlan(_ configuration: Configuration) throws -> SnapshotPlan {
    var names: [String: String] = [:]
    func source(_ text: String) -> String {
      let parsed = SnapshotPlan.parseSource(text)
      let path = absolutePath(parsed.path)
      if let name = parsed.name { names[path] = name }
      return path
    }
    let databases = configuration.strings("source.database").map(source)
    let trees = configuration.strings("source.path").map(source)
    let spool = configuration.string("backup.spool_dir").map { absolutePath($0) }
      ?? ProcessInfo.processInfo.environment["TMPDIR"] ?? "/var/tmp"
    var plan = SnapshotPlan(
      databases: databases, trees: trees,
      selection: SourceSelection(
        excludes: configuration.strings("source.exclude"), databases: databases,
        oneFileSystem: try configuration.bool("source.one_file_system") ?? false),
      spoolDirectory: spool,
      busyTimeout: try configuration.duration("backup.busy_timeout") ?? 120)
    plan.names = names
    return plan
  }

  static func compressionOptions(_ configuration: Configuration) throws -> CompressionOptions {
    let format = CompressionFormat(rawValue: configuration.string("backup.compression") ?? "gzip") ?? .gzip
    let level = try configuration.integer("backup.compression_level")
    if let level, format == .gzip, level > 9 {
      throw LifeboatError(
        .configuration,
        "\(configuration.origin("backup.compression_level")!): compression level \(level) is out of range for gzip (1-9)")
    }
    let cores = ProcessInfo.processInfo.activeProcessorCount
    return CompressionOptions(format: format, level: level, threads: try configuration.integer("backup.threads") ?? cores)
  }
}

/// A single updating status line on a terminal: bytes read, rate and time left.
final class ProgressLine {
  private let enabled: Bool
  /// Expected bytes, or 0 when unknown.
  var total: Int64 = 0
  private let started = Date()
  private var lastUpdate = Date.distantPast
  private var shown = false

  init(enabled: Bool) { self.enabled = enabled }

  func update(bytes: Int64) {
    guard enabled else { return }
    let now = Date()
    guard now.timeIntervalSince(lastUpdate) >= 0.25 else { return }
    lastUpdate = now
    let elapsed = max(now.timeIntervalSince(started), 0.001)
    let rate = Double(bytes) / elapsed
    var line = "\r  \(formatBytes(bytes)) read"
    if total > 0 {
      let percent = min(100, Int(Double(bytes) * 100 / Double(total)))
      line += " of \(formatBytes(total)) (\(percent)%)"
    }
    line += ", \(formatBytes(Int64(rate)))/s"
    if total > bytes, rate > 0 {
      line += ", about \(Int(Double(total - bytes) / rate) + 1) s left"
    }
    line += "   "
    FileHandle.standardError.write(Data(line.utf8))
    shown = true
  }

  func clear() {
    guard shown else { return }
    shown = false
    FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
  }
}
