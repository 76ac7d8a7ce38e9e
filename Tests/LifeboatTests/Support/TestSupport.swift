import Foundation
import Testing

/// A directory under the system temporary directory, removed when the value is released.
final class TemporaryDirectory {
  let path: String

  init(_ label: String = "test") throws {
    let template = NSTemporaryDirectory() + "lifeboat-\(label)-XXXXXX"
    var bytes = Array(template.utf8CString)
    guard let created = mkdtemp(&bytes) else { throw TestFailure("mkdtemp failed for \(template)") }
    path = String(cString: created)
  }

  deinit {
    _ = try? Process.run(URL(fileURLWithPath: "/bin/chmod"), arguments: ["-R", "u+rwx", path]).waitUntilExit()
    try? FileManager.default.removeItem(atPath: path)
  }

  func join(_ component: String) -> String { path + "/" + component }
}

struct TestFailure: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// The result of running a process to completion.
struct ProcessResult {
  var status: Int32
  var stdout: String
  var stderr: String
}

enum TestSupport {
  /// The package root, found from this file's location.
  static let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
      url.deleteLastPathComponent()
      if FileManager.default.fileExists(atPath: url.path + "/Package.swift") { return url.path }
    }
    fatalError("Package.swift not found above \(#filePath)")
  }()

  /// The `lifeboat` binary that `swift test` built beside the test bundle.
  static let lifeboatBinary: String = {
    let bundle = Bundle.main.bundleURL.deletingLastPathComponent().path
    for candidate in [bundle + "/lifeboat", packageRoot + "/.build/debug/lifeboat"]
    where FileManager.default.isExecutableFile(atPath: candidate) {
      return candidate
    }
    fatalError("lifeboat binary not found next to \(bundle); build with 'swift build' first")
  }()

  /// Runs `executable` with `arguments`, feeding nothing on stdin, and waits for it.
  @discardableResult
  static func run(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
    directory: String? = nil
  ) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    // Output goes to files, not pipes: a background process started meanwhile by another test
    // could inherit a pipe's write end and hold it open, so reading to EOF would wait for it.
    let outFile = try TemporaryOutputFile()
    let errFile = try TemporaryOutputFile()
    process.standardOutput = outFile.handle
    process.standardError = errFile.handle
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    let outData = try outFile.contents()
    let errData = try errFile.contents()
    return ProcessResult(
      status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
      stderr: String(decoding: errData, as: UTF8.self))
  }

  /// Environment for child processes: the test's own, without lifeboat and AWS settings that
  /// would change what a test means.
  static func cleanEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
    var environment = ProcessInfo.processInfo.environment.filter {
      !$0.key.hasPrefix("LIFEBOAT_") || $0.key.hasPrefix("LIFEBOAT_TEST_")
    }
    // An empty config file, so a machine's /etc/lifeboat/lifeboat.conf never leaks into a test.
    environment["LIFEBOAT_CONFIG"] = "/dev/null"
    environment.merge(extra) { _, new in new }
    return environment
  }

  /// Runs lifeboat with `arguments`. The default config file is never read.
  @discardableResult
  static func lifeboat(_ arguments: [String], environment: [String: String] = [:], directory: String? = nil)
    throws -> ProcessResult
  {
    try run(lifeboatBinary, arguments, environment: cleanEnvironment(environment), directory: directory)
  }

  /// Runs a shell command line and returns its result.
  @discardableResult
  static func shell(_ command: String, directory: String? = nil) throws -> ProcessResult {
    try run("/bin/bash", ["-c", command], environment: cleanEnvironment(), directory: directory)
  }

  /// Builds the sample application state (app.db, config/, logs/) in `directory`.
  static func makeCorpus(_ directory: String, _ arguments: [String] = []) throws {
    let result = try run(
      "/usr/bin/env", ["python3", packageRoot + "/scripts/make-corpus", directory, "--force"] + arguments)
    guard result.status == 0 else { throw TestFailure("make-corpus failed: \(result.stderr)") }
  }

  static func sha256(_ path: String) throws -> String {
    let result = try run("/usr/bin/sha256sum", [path])
    return String(result.stdout.prefix(64))
  }
}

/// An unlinked temporary file that collects a child process's output.
private final class TemporaryOutputFile {
  let handle: FileHandle
  private let path: String

  init() throws {
    var template = Array((NSTemporaryDirectory() + "lifeboat-output-XXXXXX").utf8CString)
    let fd = mkstemp(&template)
    guard fd >= 0 else { throw TestFailure("mkstemp failed") }
    path = String(cString: template)
    handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
  }

  deinit { unlink(path) }

  func contents() throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: path))
  }
}
