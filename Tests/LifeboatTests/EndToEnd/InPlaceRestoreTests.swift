import Foundation
import Lifeboat
import Testing

/// A running application state, its backup, and the fake application with its hooks.
final class InPlaceScenario {
  let work: TemporaryDirectory
  let app: String
  let repository: String
  let config: String
  let application: FakeApplication
  /// The tree as the backup stored it.
  let backupDigest: [String: String]
  /// The SHA-256 of `sqlite3 .dump` of the database when it was backed up.
  let backupDump: String

  /// Builds the application state, backs it up, starts the fake application on it and then
  /// changes the state, so a restore has something to undo.
  init(_ label: String, hooks: Bool = true, healthTimeout: String = "3s") throws {
    work = try TemporaryDirectory(label)
    app = work.join("app")
    repository = work.join("repo")
    config = work.join("lifeboat.conf")
    try TestSupport.makeCorpus(app, ["--db-mb", "0.5", "--logs-mb", "0.1", "--config-files", "12"])
    application = try FakeApplication(state: work.join("state"), database: app + "/app.db")

    var text = """
      [source]
      database = \(app)/app.db
      path = \(app)/config
      path = \(app)/logs

      [repository]
      url = file://\(repository)

      """
    if hooks {
      text += """
        [restore]
        stop_command = \(application.stopCommand)
        start_command = \(application.startCommand)
        health_url = \(application.healthURL)
        health_timeout = \(healthTimeout)
        hook_timeout = 20s

        """
    }
    try text.write(toFile: config, atomically: true, encoding: .utf8)

    let backup = try TestSupport.lifeboat(["backup", "--config", config])
    guard backup.status == 0 else { throw TestFailure("backup failed: \(backup.stderr)") }
    // The backup leaves empty -wal and -shm files beside the database; the digest ignores them.
    // The backup API copies pages, so the stored database differs from the live file in header
    // bytes: its digest comes from the manifest, and its content from a dump.
    var digest = try StateDigest.of(app) { $0 == "app.db-wal" }
    digest["app.db"] = "file 644 " + (try InPlaceScenario.storedDatabaseSHA256(repository))
    backupDigest = digest
    backupDump = try InPlaceScenario.dump(app + "/app.db")

    if hooks { try application.start() }
    try damage()
    application.clearCalls()
  }

  deinit { application.kill() }

  /// Changes the live state: a rewritten, an added and a deleted file, and a database update.
  private func damage() throws {
    try "name: damaged\n".write(toFile: app + "/config/app.yaml", atomically: false, encoding: .utf8)
    try "added after the backup\n".write(toFile: app + "/config/added.txt", atomically: false, encoding: .utf8)
    let logs = try FileManager.default.subpathsOfDirectory(atPath: app + "/logs").sorted()
    if let log = logs.first(where: { $0.hasSuffix(".log") }) {
      try FileManager.default.removeItem(atPath: app + "/logs/" + log)
    }
    // The checkpoint empties the -wal file, so the change is in app.db itself.
    let update = try TestSupport.shell(
      "sqlite3 '\(app)/app.db' \"UPDATE users SET email = 'damaged-' || email; PRAGMA wal_checkpoint(TRUNCATE);\"")
    guard update.status == 0 else { throw TestFailure("sqlite3 update failed: \(update.stderr)") }
  }

  static func storedDatabaseSHA256(_ repository: String) throws -> String {
    let directory = repository + "/backups"
    guard let name = try FileManager.default.contentsOfDirectory(atPath: directory).first(where: { $0.hasSuffix(".manifest.json") })
    else { throw TestFailure("no manifest in \(directory)") }
    let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
    let manifest = try JSONSerialization.jsonObject(with: data) as? [String: Any]
    let files = manifest?["files"] as? [[String: Any]] ?? []
    guard let digest = files.first(where: { $0["path"] as? String == "app.db" })?["sha256"] as? String else {
      throw TestFailure("app.db not in \(name)")
    }
    return digest
  }

  static func dump(_ database: String) throws -> String {
    let result = try TestSupport.shell("sqlite3 '\(database)' .dump | sha256sum")
    guard result.status == 0 else { throw TestFailure("sqlite3 .dump failed: \(result.stderr)") }
    return String(result.stdout.prefix(64))
  }

  /// The live state without lifeboat's rollback directories.
  func digest() throws -> [String: String] {
    try StateDigest.of(app) { $0.hasPrefix(".lifeboat-rollback-") }
  }

  /// Names in the application directory that lifeboat created.
  func leftovers() throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: app).filter { $0.hasPrefix(".lifeboat-") }
  }

  func restore(_ arguments: [String]) throws -> RestoreRun {
    let result = try TestSupport.lifeboat(
      ["restore"] + arguments + ["--config", config, "--json", "--log-level", "info", "--log-format", "json"])
    return try RestoreRun(result)
  }
}

/// One `lifeboat restore --json` run: its report on stdout and its log on stderr.
struct RestoreRun {
  let status: Int32
  let report: [String: Any]
  let log: [[String: Any]]
  let stderr: String

  init(_ result: ProcessResult) throws {
    status = result.status
    stderr = result.stderr
    let line = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
    guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
      throw TestFailure("no JSON report on stdout: \(result.stdout) \(result.stderr)")
    }
    report = object
    log = result.stderr.split(separator: "\n").compactMap {
      try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
    }
  }

  var outcome: String? { report["outcome"] as? String }
  var failedStep: String? { report["failed_step"] as? String }

  /// Each step of the report as `name outcome`.
  var steps: [String] {
    (report["steps"] as? [[String: Any]] ?? []).map { "\($0["step"] as? String ?? "?") \($0["outcome"] as? String ?? "?")" }
  }

  /// The step lines of the log, in order, as `name outcome`.
  var loggedSteps: [String] {
    log.compactMap { record in
      guard let step = record["step"] as? String, let outcome = record["outcome"] as? String else { return nil }
      return "\(step) \(outcome)"
    }
  }

  func logged(_ message: String) -> Bool {
    log.contains { ($0["msg"] as? String)?.contains(message) == true }
  }
}

/// The in-place restore procedure against the fake application: every step in order, then
/// each step made to fail, with the previous state checked byte for byte after the rollback.
@Suite struct InPlaceRestoreTests {
  static let allSteps = [
    "download", "verify", "stop", "move-aside", "put-in-place", "check-database", "start", "health-check",
  ]

  @Test func fullProcedureInOrder() throws {
    let scenario = try InPlaceScenario("inplace-full")
    let before = try scenario.digest()
    let oldPID = scenario.application.pid

    let dryRun = try TestSupport.lifeboat(["restore", "latest", "--config", scenario.config, "--dry-run"])
    #expect(dryRun.status == 0, "\(dryRun.stderr)")
    #expect(dryRun.stdout.contains("4 move-aside"))
    #expect(dryRun.stdout.contains("\(scenario.app)/app.db ("))
    #expect(dryRun.stdout.contains("-> \(scenario.app)/.lifeboat-rollback-"))
    #expect(dryRun.stdout.contains("free space:"))
    #expect(dryRun.stdout.contains("has \(scenario.app)/app.db open"))
    #expect(dryRun.stdout.contains("dry run: nothing was changed"))
    #expect(try scenario.digest() == before)
    #expect(try scenario.leftovers().isEmpty)
    #expect(scenario.application.calls.isEmpty)

    let run = try scenario.restore(["latest"])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(run.outcome == "restored")
    #expect(run.steps == InPlaceRestoreTests.allSteps.map { "\($0) ok" })
    #expect(run.loggedSteps == InPlaceRestoreTests.allSteps.map { "\($0) ok" })
    let durations = (run.report["steps"] as? [[String: Any]] ?? []).compactMap { $0["duration_s"] as? Double }
    #expect(durations.count == 8)
    #expect(run.log.contains { $0["hook"] as? String == "stop" && ($0["msg"] as? String)?.hasPrefix("stopped pid") == true })
    #expect(run.log.contains { $0["hook"] as? String == "start" && ($0["msg"] as? String)?.hasPrefix("started pid") == true })
    #expect(scenario.application.calls == ["stop restore", "start restore"])

    // The files are the backup's, the application runs on them, and the old files are kept.
    let after = try scenario.digest()
    #expect(after.filter { $0.key != "app.db-wal" } == scenario.backupDigest, "\(StateDigest.differences(after, scenario.backupDigest))")
    #expect(try InPlaceScenario.dump(scenario.app + "/app.db") == scenario.backupDump)
    #expect(scenario.application.becomesHealthy())
    #expect(scenario.application.pid != oldPID)
    let holders = OpenFileScanner.holders(of: [scenario.app + "/app.db"]).holders
    #expect(holders.map(\.pid) == [scenario.application.pid].compactMap { $0 })
    let rollback = try #require((run.report["rollback_directories"] as? [String])?.first)
    #expect(FileManager.default.fileExists(atPath: rollback + "/rollback.json"))
    #expect(try String(contentsOfFile: rollback + "/config/app.yaml", encoding: .utf8) == "name: damaged\n")
    #expect(try scenario.leftovers().count == 1)
  }

  @Test func stopFailureKeepsState() throws {
    let scenario = try InPlaceScenario("inplace-stop")
    let before = try scenario.digest()
    scenario.application.setFlag("fail-stop")

    let run = try scenario.restore(["latest"])
    #expect(run.status == 1, "\(run.stderr)")
    #expect(run.outcome == "rolled_back")
    #expect(run.failedStep == "stop")
    #expect(run.steps == ["download ok", "verify ok", "stop failed"])
    #expect(run.logged("step 3/8 stop failed: stop command exit status 1"))
    #expect(run.logged("stop refused"))
    #expect(scenario.application.calls == ["stop restore", "start rollback"])
    let after = try scenario.digest()
    #expect(after == before, "\(StateDigest.differences(after, before))")
    #expect(try scenario.leftovers().isEmpty)
    #expect(scenario.application.becomesHealthy())
  }

  @Test func checksumMismatchChangesNothing() throws {
    let scenario = try InPlaceScenario("inplace-checksum")
    let before = try scenario.digest()
    let archive = try #require(
      try FileManager.default.contentsOfDirectory(atPath: scenario.repository + "/backups").first { $0.hasSuffix(".tar.gz") })
    try flipByte(in: scenario.repository + "/backups/" + archive, at: 1000)

    let run = try scenario.restore(["latest"])
    #expect(run.status == 65, "\(run.stderr)")
    #expect(run.outcome == "failed_before_changes")
    #expect(run.failedStep == "verify")
    #expect(run.steps == ["download ok", "verify failed"])
    #expect((run.report["error"] as? String)?.contains("checksum mismatch") == true)
    #expect(scenario.application.calls.isEmpty)
    #expect(try scenario.digest() == before)
    #expect(try scenario.leftovers().isEmpty)
    #expect(scenario.application.isHealthy)
  }

  @Test func integrityFailureRollsBack() throws {
    let scenario = try InPlaceScenario("inplace-integrity")
    let before = try scenario.digest()
    let good = try #require(
      try FileManager.default.contentsOfDirectory(atPath: scenario.repository + "/backups")
        .first { $0.hasSuffix(".manifest.json") }.map { String($0.dropLast(".manifest.json".count)) })
    let corruptID = "29991231T235959Z-forge"
    let forge = try TestSupport.run(
      "/usr/bin/env",
      ["python3", FakeApplication.fixtures + "/forge-backup.py", scenario.repository, "corrupt-db", "--id", corruptID, "--from", good])
    #expect(forge.status == 0, "\(forge.stderr)")

    let run = try scenario.restore([corruptID])
    #expect(run.status == 1, "\(run.stderr)")
    #expect(run.outcome == "rolled_back")
    #expect(run.failedStep == "check-database")
    #expect(run.steps == ["download ok", "verify ok", "stop ok", "move-aside ok", "put-in-place ok", "check-database failed"])
    #expect((run.report["error"] as? String)?.contains("integrity_check") == true)
    #expect(scenario.application.calls == ["stop restore", "start rollback"])
    let after = try scenario.digest()
    #expect(after == before, "\(StateDigest.differences(after, before))")
    #expect(try scenario.leftovers().isEmpty)
    #expect(scenario.application.becomesHealthy())
  }

  @Test func startFailureRollsBack() throws {
    let scenario = try InPlaceScenario("inplace-start")
    let before = try scenario.digest()
    scenario.application.setFlag("fail-start-once")

    let run = try scenario.restore(["latest"])
    #expect(run.status == 1, "\(run.stderr)")
    #expect(run.outcome == "rolled_back")
    #expect(run.failedStep == "start")
    #expect(run.steps.last == "start failed")
    #expect(scenario.application.calls == ["stop restore", "start restore", "stop rollback", "start rollback"])
    let after = try scenario.digest()
    #expect(after == before, "\(StateDigest.differences(after, before))")
    #expect(try scenario.leftovers().isEmpty)
    #expect(scenario.application.becomesHealthy())
  }

  @Test func unhealthyRollsBack() throws {
    let scenario = try InPlaceScenario("inplace-health", healthTimeout: "1s")
    let before = try scenario.digest()
    scenario.application.setFlag("unhealthy")

    let run = try scenario.restore(["latest"])
    #expect(run.status == 1, "\(run.stderr)")
    #expect(run.outcome == "rolled_back")
    #expect(run.failedStep == "health-check")
    #expect(run.steps == InPlaceRestoreTests.allSteps.dropLast().map { "\($0) ok" } + ["health-check failed"])
    #expect((run.report["error"] as? String)?.contains("\"unhealthy\"") == true)
    #expect(scenario.application.calls == ["stop restore", "start restore", "stop rollback", "start rollback"])
    let after = try scenario.digest()
    #expect(after == before, "\(StateDigest.differences(after, before))")
    #expect(try scenario.leftovers().isEmpty)
    scenario.application.setFlag("unhealthy", false)
    #expect(scenario.application.becomesHealthy())
  }

  @Test func failedRollbackExitsThree() throws {
    let scenario = try InPlaceScenario("inplace-rollback")
    let before = try scenario.digest()
    scenario.application.setFlag("fail-start")

    let run = try scenario.restore(["latest"])
    #expect(run.status == 3, "\(run.stderr)")
    #expect(run.outcome == "rollback_failed")
    #expect(run.failedStep == "start")
    #expect(run.log.contains { $0["level"] as? String == "critical" })
    let actions = run.report["operator_actions"] as? [String] ?? []
    #expect(actions.contains { $0.contains("start the application again") && $0.contains("app-start.sh") })
    // The files went back; only the application could not be started.
    let after = try scenario.digest()
    #expect(after == before, "\(StateDigest.differences(after, before))")
    #expect(!scenario.application.isHealthy)
  }

  @Test func signalRollsBack() throws {
    let scenario = try InPlaceScenario("inplace-signal", healthTimeout: "30s")
    let before = try scenario.digest()
    scenario.application.setFlag("unhealthy")

    // The script sends SIGTERM while step 8 waits for a health check that cannot pass. It runs
    // through ShellHook so that lifeboat starts without the test thread's blocked signals.
    let output = scenario.work.join("report.json")
    let script = """
      '\(TestSupport.lifeboatBinary)' restore latest --config '\(scenario.config)' --json > '\(output)' 2>/dev/null &
      pid=$!
      tries=0
      until grep -q 'start restore' '\(scenario.application.state)/calls' 2>/dev/null || [ $tries -gt 200 ]; do
        sleep 0.05
        tries=$((tries + 1))
      done
      sleep 0.3
      kill -TERM $pid
      wait $pid
      echo "exit=$?"
      """
    let hook = ShellHook(name: "test", command: script, timeout: 60, environment: ["LIFEBOAT_CONFIG": "/dev/null"])
    let result = try hook.run(logger: Logger.disabled())
    #expect(result.lastLines.last == "exit=130")

    let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as? [String: Any]
    #expect(report?["outcome"] as? String == "rolled_back")
    #expect(report?["failed_step"] as? String == "health-check")
    #expect((report?["error"] as? String)?.contains("interrupted by signal 15") == true)
    #expect(scenario.application.calls == ["stop restore", "start restore", "stop rollback", "start rollback"])
    let after = try scenario.digest()
    #expect(after == before, "\(StateDigest.differences(after, before))")
    #expect(try scenario.leftovers().isEmpty)
  }

  @Test func openDatabaseRefusedWithoutStop() throws {
    let scenario = try InPlaceScenario("inplace-open", hooks: false)
    try scenario.application.start()
    let before = try scenario.digest()

    let dryRun = try TestSupport.lifeboat(["restore", "latest", "--config", scenario.config, "--dry-run"])
    #expect(dryRun.status == 1)
    #expect(dryRun.stdout.contains("refusing to restore over a database in use"))

    let result = try TestSupport.lifeboat(["restore", "latest", "--config", scenario.config])
    #expect(result.status == 1)
    let pid = try #require(scenario.application.pid)
    #expect(result.stderr.contains("refusing to restore over a database in use: PID \(pid)"))
    #expect(result.stderr.contains("set stop_command and start_command in [restore]"))
    #expect(try scenario.digest() == before)
    #expect(try scenario.leftovers().isEmpty)
  }

  @Test func onlyDatabaseRestored() throws {
    let scenario = try InPlaceScenario("inplace-only")
    let run = try scenario.restore(["latest", "--only", "db"])
    #expect(run.status == 0, "\(run.stderr)")

    let after = try scenario.digest()
    #expect(after["app.db"] == scenario.backupDigest["app.db"])
    #expect(try String(contentsOfFile: scenario.app + "/config/app.yaml", encoding: .utf8) == "name: damaged\n")
    #expect(after["config/added.txt"] != nil)
    let rollback = try #require((run.report["rollback_directories"] as? [String])?.first)
    #expect(try FileManager.default.contentsOfDirectory(atPath: rollback).sorted().first == "app.db")
    #expect(!FileManager.default.fileExists(atPath: rollback + "/config"))
  }

  @Test func rollbackDirectorySettings() throws {
    let scenario = try InPlaceScenario("inplace-rollbackdir", hooks: false)
    let rollbacks = scenario.work.join("rollbacks")

    let missing = try TestSupport.lifeboat(["restore", "latest", "--config", scenario.config, "--rollback-dir", rollbacks])
    #expect(missing.status == 78)
    #expect(missing.stderr.contains("rollback_dir \(rollbacks) not found"))

    try FileManager.default.createDirectory(atPath: rollbacks, withIntermediateDirectories: true)
    let kept = try TestSupport.lifeboat(["restore", "latest", "--config", scenario.config, "--rollback-dir", rollbacks])
    #expect(kept.status == 0, "\(kept.stderr)")
    #expect(kept.stdout.contains("the replaced files are kept in \(rollbacks)/lifeboat-rollback-"))
    #expect(try FileManager.default.contentsOfDirectory(atPath: rollbacks).count == 1)
    #expect(try scenario.leftovers().isEmpty)

    let discarded = try TestSupport.lifeboat(
      ["restore", "latest", "--config", scenario.config], environment: ["LIFEBOAT_RESTORE_KEEP_ROLLBACK": "false"])
    #expect(discarded.status == 0, "\(discarded.stderr)")
    #expect(!discarded.stdout.contains("kept in"))
    #expect(try scenario.leftovers().isEmpty)
  }

  @Test func newHostCreatesDirectories() throws {
    let scenario = try InPlaceScenario("inplace-new", hooks: false)
    try FileManager.default.removeItem(atPath: scenario.app)

    let run = try scenario.restore(["latest"])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(run.steps.contains("move-aside ok"))
    #expect((run.report["rollback_directories"] as? [String])?.isEmpty == true)
    let after = try scenario.digest()
    #expect(after == scenario.backupDigest, "\(StateDigest.differences(after, scenario.backupDigest))")
    var info = stat()
    stat(scenario.app, &info)
    #expect(info.st_mode & 0o777 == 0o755)
  }
}

/// Inverts every bit of the byte at `offset` (modulo the file size).
func flipByte(in path: String, at offset: Int) throws {
  let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
  defer { try? handle.close() }
  let size = Int(try handle.seekToEnd())
  let position = UInt64(offset % size)
  try handle.seek(toOffset: position)
  let byte = try handle.read(upToCount: 1) ?? Data([0])
  try handle.seek(toOffset: position)
  try handle.write(contentsOf: Data([~byte[0]]))
}
