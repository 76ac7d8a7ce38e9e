import Foundation

/// Restores a backup in place, over the paths its sources were read from, as a fixed
/// sequence of steps (see `RestoreStep`), each logged with its outcome and duration.
///
/// Steps 1 and 2 change nothing the application uses: the archive is downloaded, checked and
/// extracted into hidden staging directories beside the destinations. From step 3 on, any
/// failure rolls back: the application is stopped if it was started, the restored files are
/// taken out, the moved-aside files are renamed back, and the start command runs again.
/// Signals are deferred for the whole run, so an interrupted restore rolls back too.
public final class RestoreProcedure {
  public let repository: Repository
  public let plan: RestorePlan
  public let logger: Logger

  var records: [StepRecord] = []
  var download: ArchiveDownload?
  var createdDirectories: [String] = []
  var createdStaging: [String] = []
  var createdRollback: [String] = []
  /// The rollback directory created for each planned one.
  var rollbackNames: [String: String] = [:]
  /// Completed moves of step 4, in order.
  var moves: [(original: String, saved: String)] = []
  /// Sources renamed into place by step 5, in order.
  var placed: [RestorePlan.Item] = []
  var stopRan = false
  var startRan = false
  var warnings: [String] = []

  var settings: RestoreSettings { plan.settings }

  /// How long to wait after the stop command for the database files to be closed.
  static let releaseWait: Double = 5

  private enum StepResult {
    case done(String)
    case skipped(String)
  }

  public init(repository: Repository, plan: RestorePlan, logger: Logger) {
    self.repository = repository
    self.plan = plan
    self.logger = logger
  }

  /// Runs every step and, after a failure from step 3 on, the rollback. Step failures do not
  /// throw: the report carries them. The plan must have no blockers.
  public func run() -> RestoreReport {
    precondition(plan.blockers.isEmpty, "a plan with blockers must not run")
    return Interruption.deferSignals {
      logger.context.append(("backup_id", .string(plan.record.id)))
      defer { logger.context.removeAll { $0.0 == "backup_id" } }
      defer { removeStagingAndDownload() }
      return runSteps()
    }
  }

  private func runSteps() -> RestoreReport {
    logger.info("in-place restore started", [
      ("sources", .string(plan.items.map(\.name).joined(separator: ","))),
      ("repository", .string(repository.store.location)),
    ])
    var report = RestoreReport(id: plan.record.id, outcome: .restored, steps: [])

    var step = RestoreStep.download
    do {
      try perform(.download) { try downloadArchive() }
      step = .verify
      try perform(.verify) { try verifyIntoStaging() }
    } catch {
      removeCreatedDirectories()
      report.outcome = .failedBeforeChanges
      report.failedStep = step
      report.error = describe(error, step: step)
      report.signal = (error as? InterruptedError)?.signal
      report.steps = records
      return report
    }

    do {
      step = .stop
      try perform(.stop) { try stopApplication() }
      step = .moveAside
      try perform(.moveAside) { try moveAside() }
      step = .putInPlace
      try perform(.putInPlace) { try putInPlace() }
      step = .checkDatabase
      try perform(.checkDatabase) { try checkDatabases() }
      step = .start
      try perform(.start) { try startApplication() }
      step = .healthCheck
      try perform(.healthCheck) { try waitUntilHealthy() }
    } catch {
      report.failedStep = step
      report.error = describe(error, step: step)
      report.signal = (error as? InterruptedError)?.signal ?? Interruption.pending
      let rollback = rollBack(after: step)
      report.outcome = rollback.problems.isEmpty ? .rolledBack : .rollbackFailed
      report.rollbackProblems = rollback.problems
      report.operatorActions = rollback.actions
      report.rollbackDirectories = createdRollback.filter { directoryExists($0) }
      report.steps = records
      report.warnings = warnings
      return report
    }

    finishSuccess(&report)
    report.steps = records
    report.warnings = warnings
    return report
  }

  private func finishSuccess(_ report: inout RestoreReport) {
    if settings.keepRollback {
      report.rollbackDirectories = createdRollback
      for directory in createdRollback {
        logger.notice("replaced files kept; delete them when they are no longer needed", [
          ("rollback_dir", .string(directory)),
        ])
      }
    } else {
      for directory in createdRollback {
        removeTree(directory)
        logger.info("replaced files deleted (keep_rollback = false)", [("rollback_dir", .string(directory))])
      }
    }
    logger.notice("in-place restore finished", [
      ("sources", .string(plan.items.map(\.name).joined(separator: ","))),
      ("duration_s", .double(records.reduce(0) { $0 + $1.duration })),
    ])
  }

  // MARK: Step bookkeeping

  private func perform(_ step: RestoreStep, _ body: () throws -> StepResult) throws {
    let started = Date()
    do {
      if let signal = Interruption.pending { throw InterruptedError(signal: signal) }
      logger.info("step \(step.label) started", [
        ("step", .string(step.name)), ("step_number", .int(Int64(step.rawValue))),
      ])
      let result = try body()
      let duration = Date().timeIntervalSince(started)
      let (outcome, detail): (StepRecord.Outcome, String)
      switch result {
      case .done(let text): (outcome, detail) = (.ok, text)
      case .skipped(let text): (outcome, detail) = (.skipped, text)
      }
      records.append(StepRecord(step: step, outcome: outcome, duration: duration, detail: detail))
      logger.info("step \(step.label) \(outcome.rawValue)", [
        ("step", .string(step.name)), ("step_number", .int(Int64(step.rawValue))),
        ("outcome", .string(outcome.rawValue)), ("duration_s", .double(duration)),
        ("detail", .string(detail)),
      ])
    } catch {
      let duration = Date().timeIntervalSince(started)
      let message = describe(error, step: step).message
      records.append(StepRecord(step: step, outcome: .failed, duration: duration, detail: message))
      logger.error("step \(step.label) failed: \(message)", [
        ("step", .string(step.name)), ("step_number", .int(Int64(step.rawValue))),
        ("outcome", .string("failed")), ("duration_s", .double(duration)),
      ])
      throw error
    }
  }

  /// Turns a step's error into the operator-facing form.
  func describe(_ error: Error, step: RestoreStep) -> LifeboatError {
    switch error {
    case let error as LifeboatError:
      return error
    case let error as InterruptedError:
      return LifeboatError(.interrupted, "\(error) during step \(step.name)")
    case let error as ServiceHealthCheckError:
      return LifeboatError(
        .failure, error.description,
        hint: "check the application's own logs; raise health_timeout in [restore] if it starts slowly")
    default:
      return CommandLineTool.operatorError(error)
    }
  }

  // MARK: Steps 1 and 2

  private func downloadArchive() throws -> StepResult {
    try createMissingDirectories()
    let key = plan.record.manifest.archive?.key ?? plan.record.id
    let fetched = try ArchiveDownload.fetch(plan.record, from: repository.store, to: plan.downloadPath)
    download = fetched
    return .done("\(formatBytes(fetched.bytes)) from \(key) to \(fetched.path)")
  }

  private func verifyIntoStaging() throws -> StepResult {
    guard let download, let archive = plan.record.manifest.archive else {
      throw LifeboatError(.failure, "the archive of backup \(plan.record.id) was not downloaded")
    }
    guard download.bytes == archive.size, download.sha256 == archive.sha256 else {
      throw LifeboatError(
        .dataError,
        "backup \(plan.record.id): archive \(archive.key) checksum mismatch: expected \(archive.size) bytes with SHA-256 \(archive.sha256), read \(download.bytes) bytes with \(download.sha256)",
        hint: "the stored archive is damaged; nothing was changed. Restore from another backup ('lifeboat list')")
    }

    var extractors: [String: SafeExtractor] = [:]
    var routes: [String: ArchiveExtractor] = [:]
    for item in plan.items {
      if extractors[item.stagingDirectory] == nil {
        guard mkdir(item.stagingDirectory, 0o700) == 0 else {
          throw LifeboatError(
            .failure, "cannot create staging directory \(item.stagingDirectory): \(String(cString: strerror(errno)))",
            hint: "check that \((item.stagingDirectory as NSString).deletingLastPathComponent) is writable")
        }
        createdStaging.append(item.stagingDirectory)
        do {
          let extractor = try SafeExtractor(
            root: item.stagingDirectory, allowExternalSymlinks: settings.allowExternalSymlinks)
          extractor.syncToDisk = true
          extractors[item.stagingDirectory] = extractor
        } catch {
          throw LifeboatError(.failure, "\(error)")
        }
      }
      routes[item.name] = extractors[item.stagingDirectory]
    }

    let router = RoutingExtractor(routes: routes)
    var options = ArchiveChecker.Options()
    options.onlyNames = Set(plan.items.map(\.name))
    let checker = try ArchiveScan.makeChecker(record: plan.record, extractor: router, options: options)
    _ = try ArchiveScan.run(record: plan.record, archiveFile: download.path, checker: checker)
    for warning in checker.truncatedFiles {
      logger.warning(warning)
      warnings.append(warning)
    }
    do {
      try router.applyMetadata()
    } catch let error as ExtractionError {
      throw ArchiveScan.classify(error, record: plan.record, member: nil)
    } catch {
      throw LifeboatError(.failure, "\(error)")
    }
    let files = plan.record.manifest.files.filter { $0.type == "file" }.count
    return .done(
      "archive SHA-256 and \(files) file checksums match the manifest; \(plan.items.map(\.name).joined(separator: ", ")) staged in \(createdStaging.joined(separator: ", "))")
  }

  /// Creates the missing parents of the destinations (a restore on a new host) with mode 0755,
  /// so that the application's user can reach the restored files.
  private func createMissingDirectories() throws {
    for directory in plan.directoriesToCreate {
      guard mkdir(directory, 0o755) == 0 || errno == EEXIST else {
        throw LifeboatError(
          .failure, "cannot create directory \(directory): \(String(cString: strerror(errno)))")
      }
      chmod(directory, 0o755)
      createdDirectories.append(directory)
      logger.info("created missing directory", [("directory", .string(directory))])
    }
  }

  // MARK: Steps 3 to 8

  private func stopApplication() throws -> StepResult {
    guard let command = settings.stopCommand else {
      // Time has passed since the plan: check again that nothing opened the database.
      let now = OpenFileScanner.holders(of: plan.databasePaths)
      guard now.holders.isEmpty else { throw RestorePlanner.openDatabaseError(now.holders) }
      return .skipped("no stop_command configured; no process has the database open")
    }
    stopRan = true
    let result = try runHook("stop", command, phase: "restore")
    guard result.succeeded else {
      throw hookFailure("stop", result, hint: "nothing was moved; the start command runs again to bring the application back")
    }
    let remaining = waitForRelease(of: plan.databasePaths)
    guard remaining.isEmpty else { throw RestorePlanner.openDatabaseError(remaining, afterStop: true) }
    return .done("stop command finished in \(String(format: "%.1f", result.duration)) s")
  }

  private func moveAside() throws -> StepResult {
    var moved: [String] = []
    for item in plan.items {
      // The plan's list may be stale: a clean shutdown removes the -wal and -shm files.
      let existing = RestorePlanner.existingPaths(item.destination, isDatabase: item.isDatabase)
      guard !existing.isEmpty else { continue }
      let directory = try prepareRollbackDirectory(item.rollbackDirectory)
      for path in existing.map(\.path) {
        let saved = directory + "/" + (path as NSString).lastPathComponent
        try appendRollbackRecord(directory, original: path, saved: saved)
        try renameNoReplace(path, saved)
        moves.append((path, saved))
        moved.append(path)
      }
    }
    guard !moved.isEmpty else { return .done("nothing to move aside: no current files at the destinations") }
    for directory in Set(moves.map { ($0.original as NSString).deletingLastPathComponent }) {
      syncDirectory(directory)
    }
    return .done("moved \(moved.count) paths to \(createdRollback.joined(separator: ", "))")
  }

  private func putInPlace() throws -> StepResult {
    for item in plan.items {
      try renameNoReplace(item.stagingDirectory + "/" + item.name, item.destination)
      placed.append(item)
    }
    for directory in Set(placed.map { ($0.destination as NSString).deletingLastPathComponent }) {
      syncDirectory(directory)
    }
    return .done(placed.map(\.destination).joined(separator: ", "))
  }

  private func checkDatabases() throws -> StepResult {
    let databases = plan.items.filter(\.isDatabase)
    guard !databases.isEmpty else { return .skipped("no database among the restored sources") }
    var details: [String] = []
    for item in databases {
      let (problems, violations) = try checkDatabase(item.destination)
      guard problems.isEmpty else {
        throw LifeboatError(
          .dataError,
          "restored database \(item.destination) failed PRAGMA integrity_check: \(problems.prefix(3).joined(separator: "; "))",
          hint: "the backup's database is damaged; restore an earlier backup ('lifeboat list')")
      }
      if violations.isEmpty {
        details.append("\(item.name): integrity_check ok, no foreign key violations")
      } else {
        // NOTE: foreign key violations are reported, not fatal: an application that never
        // turned on foreign_keys may have had them before the backup, and the copy is faithful.
        let message = "restored database \(item.destination) has \(violations.count) foreign key violation(s), e.g. \(violations[0])"
        logger.warning(message)
        warnings.append(message)
        details.append("\(item.name): integrity_check ok, \(violations.count) foreign key violation(s)")
      }
    }
    return .done(details.joined(separator: "; "))
  }

  /// Runs the checks on a database at its final path. The connection is closed before the
  /// journal files it created are removed, so the application starts without files owned by
  /// lifeboat's user.
  private func checkDatabase(_ path: String) throws -> ([String], [String]) {
    let result = try runChecks(path)
    for suffix in RestorePlanner.journalSuffixes { unlink(path + suffix) }
    return result
  }

  /// Returns the problems `integrity_check` found and the foreign key violations. The
  /// connection is closed when this returns.
  private func runChecks(_ path: String) throws -> ([String], [String]) {
    let database: SQLiteDatabase
    do {
      database = try SQLiteDatabase(path: path, readOnly: false)
    } catch {
      throw LifeboatError(
        .dataError, "restored database \(path) cannot be opened: \(error)",
        hint: "the backup's database is damaged; restore an earlier backup ('lifeboat list')")
    }
    // A badly damaged page makes the pragma fail outright instead of returning rows.
    let problems: [String]
    do {
      problems = try database.check(thorough: true)
    } catch {
      problems = ["\(error)"]
    }
    guard problems.isEmpty else { return (problems, []) }
    do {
      return ([], try database.foreignKeyViolations())
    } catch {
      return (["PRAGMA foreign_key_check failed: \(error)"], [])
    }
  }

  private func startApplication() throws -> StepResult {
    guard let command = settings.startCommand else {
      return .skipped("no start_command configured")
    }
    startRan = true
    let result = try runHook("start", command, phase: "restore")
    guard result.succeeded else {
      throw hookFailure("start", result, hint: "the previous files are put back and the start command runs again")
    }
    return .done("start command finished in \(String(format: "%.1f", result.duration)) s")
  }

  private func waitUntilHealthy() throws -> StepResult {
    var check = settings.healthCheck
    guard check.isConfigured else { return .skipped("no health_command or health_url configured") }
    check.environment = hookEnvironment(phase: "restore")
    let attempts = try check.waitUntilHealthy(logger: logger)
    return .done("healthy after \(attempts) attempt(s)")
  }

  // MARK: Helpers

  func runHook(_ name: String, _ command: String, phase: String) throws -> HookResult {
    logger.info("running \(name) command", [("hook", .string(name)), ("command", .string(command)), ("phase", .string(phase))])
    let hook = ShellHook(
      name: name, command: command, timeout: settings.hookTimeout,
      environment: hookEnvironment(phase: phase))
    // A hook that runs during the rollback is not cut short by a signal: the rollback needs it.
    let result = try hook.run(logger: logger) { phase == "restore" && Interruption.pending != nil }
    logger.info("\(name) command \(result.summary)", [
      ("hook", .string(name)), ("duration_s", .double(result.duration)),
    ])
    return result
  }

  private func hookEnvironment(phase: String) -> [String: String] {
    ["LIFEBOAT_BACKUP_ID": plan.record.id, "LIFEBOAT_RESTORE_PHASE": phase]
  }

  private func hookFailure(_ name: String, _ result: HookResult, hint: String) -> Error {
    if result.cancelled, let signal = Interruption.pending { return InterruptedError(signal: signal) }
    let output = result.lastLines.last.map { " (last output: \($0))" } ?? ""
    return LifeboatError(.failure, "\(name) command \(result.summary)\(output)", hint: hint)
  }

  /// Polls until no process has `paths` open, for up to `releaseWait` seconds, and returns the
  /// holders that remain.
  func waitForRelease(of paths: [String]) -> [OpenFileHolder] {
    let deadline = Date().addingTimeInterval(RestoreProcedure.releaseWait)
    while true {
      let holders = OpenFileScanner.holders(of: paths).holders
      if holders.isEmpty || Date() >= deadline { return holders }
      usleep(100_000)
    }
  }

  /// Creates the planned rollback directory and returns its path. When a directory of that
  /// name exists (a second restore in the same second), `-2`, `-3`… is appended.
  private func prepareRollbackDirectory(_ planned: String) throws -> String {
    if let created = rollbackNames[planned] { return created }
    var candidate = planned
    var counter = 1
    while mkdir(candidate, 0o700) != 0 {
      guard errno == EEXIST, counter < 100 else {
        throw LifeboatError(
          .failure, "cannot create rollback directory \(candidate): \(String(cString: strerror(errno)))",
          hint: "check that \((planned as NSString).deletingLastPathComponent) is writable")
      }
      counter += 1
      candidate = "\(planned)-\(counter)"
    }
    rollbackNames[planned] = candidate
    createdRollback.append(candidate)
    return candidate
  }

  /// Rewrites `rollback.json` in the rollback directory before each move, so an operator who
  /// must repair by hand finds every move listed even if lifeboat dies mid-step.
  private func appendRollbackRecord(_ directory: String, original: String, saved: String) throws {
    let entries = (moves.map { ($0.original, $0.saved) } + [(original, saved)])
      .filter { ($0.1 as NSString).deletingLastPathComponent == directory }
      .map { "    {\"original\": \(JSONText.quote($0.0)), \"saved\": \(JSONText.quote($0.1))}" }
    let text = """
      {
        "backup_id": \(JSONText.quote(plan.record.id)),
        "note": "files moved aside by 'lifeboat restore'; move each 'saved' path back to 'original' to undo it",
        "moves": [
      \(entries.joined(separator: ",\n"))
        ]
      }

      """
    let path = directory + "/rollback.json"
    let temporary = path + ".tmp"
    guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8)),
      rename(temporary, path) == 0
    else {
      throw LifeboatError(.failure, "cannot write \(path): \(String(cString: strerror(errno)))")
    }
  }

  func syncDirectory(_ path: String) {
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { return }
    fsync(fd)
    close(fd)
  }

  func directoryExists(_ path: String) -> Bool {
    var info = stat()
    return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
  }

  private func removeStagingAndDownload() {
    for directory in createdStaging { removeTree(directory) }
    if let download { ArchiveDownload.remove(download.path) }
    // A download that failed halfway removed its own file.
  }

  /// Removes the parents created for a new host, innermost first, if they are empty.
  func removeCreatedDirectories() {
    removeStagingAndDownload()
    createdStaging = []
    download = nil
    for directory in createdDirectories.reversed() { rmdir(directory) }
  }
}
