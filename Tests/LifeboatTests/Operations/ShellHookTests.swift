import Foundation
import Lifeboat
import Testing

/// Stop, start and health commands run through /bin/sh with a time limit.
@Suite struct ShellHookTests {
  @Test func exitStatusAndOutput() throws {
    let work = try TemporaryDirectory("hook")
    let log = try CapturedLog(work)
    let hook = ShellHook(name: "stop", command: "echo to-stdout; echo to-stderr >&2; exit 3", timeout: 10)
    let result = try hook.run(logger: log.logger)

    #expect(result.exitStatus == 3)
    #expect(!result.succeeded)
    #expect(!result.timedOut)
    #expect(result.summary == "exit status 3")
    #expect(result.lastLines.contains("to-stdout"))
    #expect(result.lastLines.contains("to-stderr"))
    let lines = log.records.filter { $0["hook"] as? String == "stop" }
    #expect(lines.contains { $0["msg"] as? String == "to-stdout" && $0["stream"] as? String == "stdout" })
    #expect(lines.contains { $0["msg"] as? String == "to-stderr" && $0["stream"] as? String == "stderr" })
  }

  @Test func environmentAndStdin() throws {
    let work = try TemporaryDirectory("hook")
    let log = try CapturedLog(work)
    // cat must see end of file at once: stdin is /dev/null.
    let hook = ShellHook(
      name: "start", command: "cat; echo \"id=$LIFEBOAT_BACKUP_ID\"", timeout: 10,
      environment: ["LIFEBOAT_BACKUP_ID": "20261204T031500Z-web1"])
    let result = try hook.run(logger: log.logger)
    #expect(result.succeeded)
    #expect(result.lastLines == ["id=20261204T031500Z-web1"])
  }

  @Test func timeoutKillsProcessGroup() throws {
    let work = try TemporaryDirectory("hook")
    let log = try CapturedLog(work)
    let pidFile = work.join("child.pid")
    let hook = ShellHook(name: "stop", command: "sleep 30 & echo $! > '\(pidFile)'; wait", timeout: 0.5)
    let started = Date()
    let result = try hook.run(logger: log.logger)

    #expect(result.timedOut)
    #expect(!result.succeeded)
    #expect(result.summary.contains("timed out"))
    #expect(Date().timeIntervalSince(started) < 5)
    let child = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
    usleep(200_000)
    #expect(!isProcessRunning(child), "the background child of a timed-out hook survived")
  }

  @Test func daemonDoesNotBlock() throws {
    let work = try TemporaryDirectory("hook")
    let log = try CapturedLog(work)
    let pidFile = work.join("daemon.pid")
    // The background process keeps the hook's stdout open; the hook still ends when sh exits.
    let hook = ShellHook(name: "start", command: "sleep 20 & echo $! > '\(pidFile)'; echo started", timeout: 10)
    let started = Date()
    let result = try hook.run(logger: log.logger)
    let daemon = Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
    defer { if let daemon { kill(daemon, SIGKILL) } }

    #expect(result.succeeded)
    #expect(Date().timeIntervalSince(started) < 3)
    #expect(result.lastLines == ["started"])
  }

  @Test func manyLinesTruncated() throws {
    let work = try TemporaryDirectory("hook")
    let log = try CapturedLog(work)
    let hook = ShellHook(name: "start", command: "seq 1 2000", timeout: 10)
    let result = try hook.run(logger: log.logger)
    #expect(result.succeeded)
    #expect(result.lastLines.last == "2000")
    let records = log.records
    #expect(records.filter { $0["stream"] as? String == "stdout" }.count == 500)
    #expect(records.contains { $0["msg"] as? String == "hook output truncated" && $0["lines_not_logged"] as? Int == 1500 })
  }
}
