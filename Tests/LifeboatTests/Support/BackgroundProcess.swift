import Foundation

/// A process started without waiting for it, with its output collected while it runs.
final class BackgroundProcess: @unchecked Sendable {
  let process = Process()
  private let outPipe = Pipe()
  private let errPipe = Pipe()
  private let group = DispatchGroup()
  private var outData = Data()
  private var errData = Data()

  init(_ executable: String, _ arguments: [String], environment: [String: String]) throws {
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = environment
    process.standardOutput = outPipe
    process.standardError = errPipe
    process.standardInput = FileHandle.nullDevice
    try process.run()
    group.enter()
    DispatchQueue.global().async {
      self.outData = self.outPipe.fileHandleForReading.readDataToEndOfFile()
      self.group.leave()
    }
    group.enter()
    DispatchQueue.global().async {
      self.errData = self.errPipe.fileHandleForReading.readDataToEndOfFile()
      self.group.leave()
    }
  }

  /// Starts lifeboat with the same clean environment as `TestSupport.lifeboat`.
  static func lifeboat(_ arguments: [String], environment: [String: String] = [:]) throws
    -> BackgroundProcess
  {
    try BackgroundProcess(
      TestSupport.lifeboatBinary, arguments, environment: TestSupport.cleanEnvironment(environment))
  }

  var pid: Int32 { process.processIdentifier }

  func signal(_ number: Int32) { kill(process.processIdentifier, number) }

  /// Waits for the process to exit and returns its status and output.
  func wait() -> ProcessResult {
    process.waitUntilExit()
    group.wait()
    return ProcessResult(
      status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
      stderr: String(decoding: errData, as: UTF8.self))
  }

  deinit {
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
  }
}

/// Holds an exclusive lock on a SQLite database in rollback-journal mode until `stop()` (or at
/// most `seconds`), so that a backup of it waits (its busy timeout) and keeps running meanwhile.
///
/// The holder commits before it exits: a killed holder would leave a hot journal, which the
/// backup's read-only connection cannot roll back.
final class DatabaseLockHolder {
  private let holder: BackgroundProcess
  private let releaseFile: String

  /// Creates the database at `path` when missing and returns once the lock is held.
  init(path: String, seconds: Double = 60) throws {
    let script = """
      import os, sqlite3, sys, time
      db = sqlite3.connect(sys.argv[1], isolation_level=None)
      db.execute("CREATE TABLE IF NOT EXISTS t (x)")
      db.execute("BEGIN EXCLUSIVE")
      db.execute("INSERT INTO t VALUES (1)")
      open(sys.argv[1] + ".held", "w").close()
      end = time.time() + float(sys.argv[2])
      while time.time() < end and not os.path.exists(sys.argv[1] + ".release"):
          time.sleep(0.05)
      db.execute("COMMIT")
      """
    releaseFile = path + ".release"
    try? FileManager.default.removeItem(atPath: path + ".held")
    try? FileManager.default.removeItem(atPath: releaseFile)
    holder = try BackgroundProcess(
      "/usr/bin/env", ["python3", "-c", script, path, String(seconds)],
      environment: ProcessInfo.processInfo.environment)
    guard waitUntil(timeout: 10, { FileManager.default.fileExists(atPath: path + ".held") }) else {
      throw TestFailure("the database lock holder did not start: \(holder.wait().stderr)")
    }
  }

  /// Commits and waits for the holder to exit, which releases the lock. Safe to call twice.
  func stop() {
    _ = FileManager.default.createFile(atPath: releaseFile, contents: nil)
    _ = holder.wait()
  }
}

/// Polls `condition` every 50 ms until it is true or `timeout` seconds pass.
func waitUntil(timeout: Double, _ condition: () -> Bool) -> Bool {
  let deadline = Date().addingTimeInterval(timeout)
  while Date() < deadline {
    if condition() { return true }
    usleep(50_000)
  }
  return condition()
}
