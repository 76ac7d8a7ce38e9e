import Foundation
import Lifeboat

/// The fake application in Fixtures/: a Python process that keeps a SQLite database open and
/// serves /health on 127.0.0.1, with stop and start scripts that record each call.
final class FakeApplication {
  static let fixtures = TestSupport.packageRoot + "/Tests/LifeboatTests/Fixtures"

  /// Holds `app.pid`, `calls`, `app.out` and the flags `unhealthy`, `fail-stop` and
  /// `fail-start-once`.
  let state: String
  let database: String
  let port: Int

  init(state: String, database: String) throws {
    self.state = state
    self.database = database
    port = try FakeApplication.freePort()
    try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
  }

  deinit { kill() }

  var startCommand: String { "sh '\(FakeApplication.fixtures)/app-start.sh' '\(state)' '\(database)' \(port)" }
  var stopCommand: String { "sh '\(FakeApplication.fixtures)/app-stop.sh' '\(state)'" }
  var healthURL: String { "http://127.0.0.1:\(port)/health" }

  /// The process id in `app.pid`, while the start script has recorded one.
  var pid: Int32? {
    guard let text = try? String(contentsOfFile: state + "/app.pid", encoding: .utf8) else { return nil }
    return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
  }

  /// The recorded calls, such as `stop restore` or `start rollback`.
  var calls: [String] {
    let text = (try? String(contentsOfFile: state + "/calls", encoding: .utf8)) ?? ""
    return text.split(separator: "\n").map(String.init)
  }

  func clearCalls() {
    unlink(state + "/calls")
  }

  func setFlag(_ name: String, _ on: Bool = true) {
    if on {
      FileManager.default.createFile(atPath: state + "/" + name, contents: Data())
    } else {
      unlink(state + "/" + name)
    }
  }

  /// Starts the application with its start script and waits until /health responds.
  ///
  /// The script runs through `ShellHook`, not Foundation's `Process`: a Process child inherits
  /// the signal mask of the test's thread (most signals blocked), and Process counts a child as
  /// running while any descendant, such as this daemon, keeps its status socket open.
  func start() throws {
    let hook = ShellHook(name: "start", command: startCommand, timeout: 30)
    let result = try hook.run(logger: Logger.disabled())
    guard result.succeeded else {
      throw TestFailure("start script \(result.summary): \(result.lastLines.joined(separator: " / "))")
    }
    try waitUntilHealthy()
  }

  func waitUntilHealthy(timeout: Double = 10) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      if let response = try? HTTPProbe.get(healthURL, timeout: 1), HTTPProbe.problem(with: response) == nil {
        return
      }
      usleep(50_000)
    }
    throw TestFailure("the fake application did not answer \(healthURL) within \(timeout) s")
  }

  /// Returns true once /health reports healthy, polling for up to `timeout` seconds.
  func becomesHealthy(within timeout: Double = 10) -> Bool {
    (try? waitUntilHealthy(timeout: timeout)) != nil
  }

  var isHealthy: Bool {
    guard let response = try? HTTPProbe.get(healthURL, timeout: 2) else { return false }
    return HTTPProbe.problem(with: response) == nil
  }

  /// Ends the process recorded in `app.pid`, if any.
  func kill() {
    if let pid { Glibc.kill(pid, SIGKILL) }
  }

  /// Returns a TCP port on 127.0.0.1 that was free a moment ago.
  static func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
        bind(fd, generic, length) == 0 && getsockname(fd, generic, &length) == 0
      }
    }
    guard bound else { throw TestFailure("bind to 127.0.0.1:0 failed") }
    return Int(UInt16(bigEndian: address.sin_port))
  }
}

/// A logger that writes JSON lines to a file, so tests can read what was logged.
final class CapturedLog {
  let path: String
  let logger: Logger

  init(_ directory: TemporaryDirectory, level: LogLevel = .debug) throws {
    path = directory.join("captured.log")
    FileManager.default.createFile(atPath: path, contents: Data())
    guard let handle = FileHandle(forWritingAtPath: path) else { throw TestFailure("cannot open \(path)") }
    logger = Logger(level: level, format: .json, output: handle)
  }

  /// Every logged line, parsed.
  var records: [[String: Any]] {
    let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").compactMap {
      try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
    }
  }
}

/// Returns true when a process exists and is not a zombie. Orphans that no process reaps stay
/// zombies on some machines, and a zombie has no open files.
func isProcessRunning(_ pid: Int32) -> Bool {
  guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
  guard let close = stat.lastIndex(of: ")") else { return false }
  let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).prefix(1)
  return state != "Z"
}
