import Foundation
import Testing

/// The Python that has the test packages (prometheus_client, aiosmtpd) installed.
enum TestPython {
  /// `$LIFEBOAT_TEST_PYTHON`, else the venv that `scripts/install-deps --test` creates, else
  /// `python3` from PATH.
  static let path: String = {
    if let configured = ProcessInfo.processInfo.environment["LIFEBOAT_TEST_PYTHON"], !configured.isEmpty {
      return configured
    }
    let venv = TestSupport.packageRoot + "/.build/test-venv/bin/python3"
    if FileManager.default.isExecutableFile(atPath: venv) { return venv }
    return "/usr/bin/env"
  }()

  /// Runs Python with `arguments` (a script path or `-c CODE` and its arguments).
  @discardableResult
  static func run(_ arguments: [String]) throws -> ProcessResult {
    let prefix = path == "/usr/bin/env" ? ["python3"] : []
    return try TestSupport.run(path, prefix + arguments)
  }

  /// Fails with a hint when a module the test needs is not installed.
  static func require(_ module: String) throws {
    let result = try run(["-c", "import \(module)"])
    guard result.status == 0 else {
      throw TestFailure(
        "Python module \(module) is missing for \(path): run scripts/install-deps --test, or set LIFEBOAT_TEST_PYTHON")
    }
  }
}

/// One sample of a Prometheus textfile, as prometheus_client's parser reads it.
struct ParsedSample {
  var name: String
  var labels: [String: String]
  var value: Double
  /// The type of the family the sample belongs to (`gauge`).
  var type: String
}

enum PrometheusText {
  /// Parses `path` with prometheus_client's text parser, which raises on any malformed line.
  static func parse(_ path: String) throws -> [ParsedSample] {
    try TestPython.require("prometheus_client")
    let script = """
      import json, sys
      from prometheus_client.parser import text_string_to_metric_families
      out = []
      for family in text_string_to_metric_families(open(sys.argv[1]).read()):
          for sample in family.samples:
              out.append([sample.name, sample.labels, sample.value, family.type])
      print(json.dumps(out))
      """
    let result = try TestPython.run(["-c", script, path])
    guard result.status == 0 else { throw TestFailure("prometheus_client rejected \(path): \(result.stderr)") }
    let rows = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[Any]] ?? []
    return rows.map { row in
      ParsedSample(
        name: row[0] as? String ?? "", labels: row[1] as? [String: String] ?? [:],
        value: (row[2] as? NSNumber)?.doubleValue ?? .nan, type: row[3] as? String ?? "")
    }
  }

  /// The value of the sample `name` whose labels include `labels`, or nil.
  static func value(_ samples: [ParsedSample], _ name: String, _ labels: [String: String] = [:]) -> Double? {
    samples.first { sample in
      sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
    }?.value
  }
}

/// `scripts/alert-sink` running on 127.0.0.1: a webhook receiver and an SMTP server that record
/// what they receive. Stopped by its PID when released.
final class AlertSink {
  let webhookPort: Int
  let smtpPort: Int
  private let process: Process
  private let output: String

  init(directory: String, arguments: [String] = []) throws {
    try TestPython.require("aiosmtpd")
    output = directory + "/alert-sink.jsonl"
    process = Process()
    let prefix = TestPython.path == "/usr/bin/env" ? ["python3"] : []
    process.executableURL = URL(fileURLWithPath: TestPython.path)
    process.arguments = prefix + [
      TestSupport.packageRoot + "/scripts/alert-sink", "--out", output, "--lifetime", "60",
    ] + arguments
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    process.standardInput = FileHandle.nullDevice
    try process.run()

    // The first line on stdout says where it listens, once both servers do.
    var line = Data()
    while !line.contains(UInt8(ascii: "\n")) {
      let chunk = stdout.fileHandleForReading.availableData
      if chunk.isEmpty { break }
      line.append(chunk)
    }
    let ready = try? JSONSerialization.jsonObject(with: line) as? [String: Any]
    guard let webhook = ready?["webhook_port"] as? Int, let smtp = ready?["smtp_port"] as? Int else {
      process.terminate()
      let error = String(decoding: stderr.fileHandleForReading.availableData, as: UTF8.self)
      throw TestFailure("alert-sink did not start: \(error)")
    }
    webhookPort = webhook
    smtpPort = smtp
  }

  deinit {
    if process.isRunning {
      kill(process.processIdentifier, SIGTERM)
      process.waitUntilExit()
    }
  }

  /// Everything received so far, one dictionary per webhook request or message.
  func received() -> [[String: Any]] {
    guard let text = try? String(contentsOfFile: output, encoding: .utf8) else { return [] }
    return text.split(separator: "\n").compactMap {
      try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
    }
  }

  func received(kind: String) -> [[String: Any]] {
    received().filter { $0["kind"] as? String == kind }
  }
}

/// Source trees for tests that need files but not the full sample application.
enum SmallTree {
  /// Creates `count` small text files in `directory` (and one subdirectory) and returns the path.
  @discardableResult
  static func make(_ directory: String, count: Int = 8) throws -> String {
    try FileManager.default.createDirectory(atPath: directory + "/sub", withIntermediateDirectories: true)
    for index in 0..<count {
      let folder = index % 2 == 0 ? directory : directory + "/sub"
      try "line \(index)\n".write(toFile: "\(folder)/file-\(index).txt", atomically: false, encoding: .utf8)
    }
    return directory
  }
}

/// Reads the `run_id` from JSON log lines on stderr.
func runID(inLog stderr: String) -> String? {
  for line in stderr.split(separator: "\n") {
    if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
      let id = object["run_id"] as? String
    {
      return id
    }
  }
  return nil
}
