import Foundation

/// Runs Fixtures/field_inputs.py, which builds the inputs of the field-case tests and runs
/// their background actors (writers, churn, lock holders).
enum FieldInputs {
  static let script = TestSupport.packageRoot + "/Tests/LifeboatTests/Fixtures/field_inputs.py"

  @discardableResult
  static func run(_ arguments: [String]) throws -> ProcessResult {
    let result = try TestSupport.run("/usr/bin/env", ["python3", script] + arguments)
    guard result.status == 0 else {
      throw TestFailure("field_inputs.py \(arguments.joined(separator: " ")) failed: \(result.stderr)")
    }
    return result
  }

  /// Starts an actor in the background. The actor stops by itself after its time limit;
  /// `stop` ends it sooner by PID.
  static func start(_ arguments: [String]) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", script] + arguments
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    return process
  }

  static func stop(_ process: Process) {
    // SIGKILL: the test runner's children may inherit an ignored SIGTERM.
    if process.isRunning {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
    }
  }

  /// Waits until `path` exists, for actors that signal readiness with a file.
  static func waitForFile(_ path: String, seconds: Double = 20) throws {
    let deadline = Date().addingTimeInterval(seconds)
    while !FileManager.default.fileExists(atPath: path) {
      guard Date() < deadline else { throw TestFailure("timed out waiting for \(path)") }
      usleep(20_000)
    }
  }

  /// Reads the JSON manifest stored inside the newest backup of a file repository.
  static func storedManifest(repository: String) throws -> [String: Any] {
    let directory = repository + "/backups"
    let name = try FileManager.default.contentsOfDirectory(atPath: directory)
      .filter { $0.hasSuffix(".manifest.json") }.sorted().last!
    let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
    return try JSONSerialization.jsonObject(with: data) as! [String: Any]
  }
}
