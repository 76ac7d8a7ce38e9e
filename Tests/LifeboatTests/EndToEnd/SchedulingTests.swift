import Foundation
import Testing

/// Runs as cron and systemd start them: no terminal, a bare environment, no controlling tty.
@Suite struct SchedulingTests {
  /// Runs lifeboat under `setsid --wait`, so it has no controlling terminal, with pipes for
  /// stdout and stderr, /dev/null for stdin, and only the variables cron sets.
  private func runDetached(_ arguments: [String], extra: [String: String] = [:]) throws -> ProcessResult {
    var environment = ["PATH": "/usr/bin:/bin", "HOME": "/root", "SHELL": "/bin/sh", "LIFEBOAT_CONFIG": "/dev/null"]
    environment.merge(extra) { _, new in new }
    return try TestSupport.run("/usr/bin/setsid", ["--wait", TestSupport.lifeboatBinary] + arguments, environment: environment)
  }

  @Test func quietOnSuccess() throws {
    let work = try TemporaryDirectory("cronok")
    let tree = try SmallTree.make(work.join("tree"))
    let metrics = work.join("lifeboat.prom")
    let result = try runDetached([
      "backup", "--path", tree, "--repo", "file://" + work.join("repo"), "--metrics-file", metrics,
    ])
    #expect(result.status == 0)
    #expect(result.stderr == "")
    let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
    #expect(lines.count == 2, "\(result.stdout)")
    #expect(lines.first?.hasPrefix("backup ") == true)
    #expect(lines.first?.contains(" complete: ") == true)
    #expect(lines.last == "")
    #expect(!result.stdout.contains("\u{1B}"))
    #expect(FileManager.default.fileExists(atPath: metrics))
  }

  @Test func loudOnFailure() throws {
    let work = try TemporaryDirectory("cronfail")
    let tree = try SmallTree.make(work.join("tree"))
    let result = try runDetached(
      ["backup", "--path", tree, "--repo", "file://" + work.join("repo")], extra: ["LIFEBOAT_FAULTS": "put:1"])
    #expect(result.status == 69)
    #expect(result.stdout == "")
    #expect(result.stderr.contains("error: storage file://"))
    #expect(result.stderr.contains("warning: fault injection is on"))
  }
}
