import Foundation
import Testing

@testable import Lifeboat

/// Trees that change while they are archived: logs appended and cut back, files and
/// directories deleted mid-walk, files the user cannot read.
@Suite struct ChangingTreeTests {
  @Test func growingAndShrinkingLogs() throws {
    let work = try TemporaryDirectory("changing")
    let logs = work.join("logs")
    try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
    try TestSupport.shell(
      "head -c 24000000 /dev/urandom | base64 > '\(logs)/growing.log' && head -c 12000000 /dev/urandom > '\(logs)/shrinking.log'")
    let writers = try FieldInputs.start(["writers", logs, "20"])
    defer { FieldInputs.stop(writers) }
    usleep(300_000)

    let repo = work.join("repo")
    // Several runs, because the shrink is a race that only some runs hit.
    var sawShrink = false
    for _ in 0..<4 {
      let backup = try TestSupport.lifeboat([
        "backup", "--path", logs, "--repo", "file://" + repo, "--compression-level", "1",
      ])
      #expect(backup.status == 0 || backup.status == 2, "\(backup.stderr)")
      if backup.stdout.contains("shrank") { sawShrink = true }
      if backup.status == 2 { #expect(backup.stdout.contains("growing.log") || backup.stdout.contains("shrinking.log")) }
    }
    FieldInputs.stop(writers)

    // Every stored backup is well formed and agrees with its manifest.
    let verify = try TestSupport.lifeboat(["verify", "--all", "--repo", "file://" + repo])
    #expect(verify.status == 0, "\(verify.stdout)")
    let gzip = try TestSupport.shell("for f in '\(repo)'/backups/*.tar.gz; do gzip -t \"$f\" || exit 1; done")
    #expect(gzip.status == 0)

    // The archived growing.log is a prefix of the file as it is now.
    let target = work.join("restored")
    let restore = try TestSupport.lifeboat(["restore", "latest", "--target", target, "--repo", "file://" + repo])
    #expect(restore.status == 0, "\(restore.stderr)")
    let prefix = try TestSupport.shell(
      "n=$(stat -c %s '\(target)/logs/growing.log'); cmp -n \"$n\" '\(target)/logs/growing.log' '\(logs)/growing.log'")
    #expect(prefix.status == 0, "\(prefix.stdout)")

    // Zero padding is never stored silently: a shrunk file is flagged in the manifest.
    let manifest = try FieldInputs.storedManifest(repository: repo)
    let files = manifest["files"] as? [[String: Any]] ?? []
    for file in files where (file["changed"] as? String)?.contains("shrank") == true {
      #expect(manifest["status"] as? String == "warnings")
    }
    _ = sawShrink
  }

  @Test func vanishingFilesAreWarnings() throws {
    let work = try TemporaryDirectory("vanish")
    let logs = work.join("logs")
    try FieldInputs.run(["churn-tree", logs])
    let churn = try FieldInputs.start(["churn", logs, "20"])
    defer { FieldInputs.stop(churn) }
    usleep(300_000)

    let repo = work.join("repo")
    let backup = try TestSupport.lifeboat(["backup", "--path", logs, "--repo", "file://" + repo, "--json"])
    FieldInputs.stop(churn)
    #expect(backup.status == 0 || backup.status == 2, "\(backup.stderr)")
    let summary = try JSONSerialization.jsonObject(with: Data(backup.stdout.utf8)) as? [String: Any]
    let warnings = summary?["warnings"] as? [[String: Any]] ?? []
    for warning in warnings {
      #expect((warning["message"] as? String ?? "").contains("vanished"))
    }

    // Manifest and archive agree exactly, and the steady file is always there.
    let verify = try TestSupport.lifeboat(["verify", "--repo", "file://" + repo])
    #expect(verify.status == 0, "\(verify.stdout)")
    let manifest = try FieldInputs.storedManifest(repository: repo)
    let paths = (manifest["files"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
    #expect(paths.contains("logs/current.log"))

    // Without the churn the same tree backs up cleanly.
    let quiet = try TestSupport.lifeboat(["backup", "--path", logs, "--repo", "file://" + repo])
    #expect(quiet.status == 0, "\(quiet.stdout)\(quiet.stderr)")
  }

  @Test(.enabled(if: getuid() == 0, "needs root to build files another user cannot read"))
  func unreadableFilesMakeBackupPartial() throws {
    let work = try TemporaryDirectory("unreadable")
    chmod(work.path, 0o755)
    let app = work.join("app")
    let repo = work.join("repo")
    try TestSupport.shell("""
      set -e
      mkdir -p '\(app)/config' '\(app)/logs/locked' '\(work.path)/only'
      echo 'listen = 8080' > '\(app)/config/app.conf'
      echo secret > '\(app)/config/tls.key'
      echo hidden > '\(app)/logs/locked/x.log'
      echo data > '\(work.path)/only/data.bin'
      sqlite3 '\(app)/app.db' 'CREATE TABLE t(x); INSERT INTO t VALUES (1);'
      chown -R 65534:65534 '\(app)'
      chown root:root '\(app)/config/tls.key' '\(app)/logs/locked' '\(work.path)/only/data.bin'
      chmod 600 '\(app)/config/tls.key' '\(work.path)/only/data.bin'
      chmod 700 '\(app)/logs/locked'
      mkdir '\(repo)' && chown 65534:65534 '\(repo)'
      """)
    func asNobody(_ arguments: [String]) throws -> ProcessResult {
      try TestSupport.run(
        "/usr/bin/setpriv",
        ["--reuid=65534", "--regid=65534", "--clear-groups", TestSupport.lifeboatBinary] + arguments,
        environment: TestSupport.cleanEnvironment(["TMPDIR": "/tmp"]))
    }

    let partial = try asNobody([
      "backup", "--db", app + "/app.db", "--path", app + "/config", "--path", app + "/logs",
      "--repo", "file://" + repo,
    ])
    #expect(partial.status == 2, "\(partial.stdout)\(partial.stderr)")
    #expect(partial.stdout.contains("partial"))
    #expect(partial.stdout.contains("config/tls.key: skipped: Permission denied"))
    #expect(partial.stdout.contains("logs/locked: directory skipped: Permission denied"))
    let manifest = try FieldInputs.storedManifest(repository: repo)
    #expect(manifest["status"] as? String == "partial")
    let list = try asNobody(["list", "--repo", "file://" + repo])
    #expect(list.stdout.contains("partial"))

    // Nothing readable: the run fails and records no backup.
    let before = try FileManager.default.contentsOfDirectory(atPath: repo + "/backups").count
    let nothing = try asNobody(["backup", "--path", work.path + "/only", "--repo", "file://" + repo])
    #expect(nothing.status == 1, "\(nothing.stdout)\(nothing.stderr)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: repo + "/backups").count == before)

    // An unreadable database is fatal.
    try TestSupport.shell("chown root:root '\(app)/app.db' && chmod 600 '\(app)/app.db'")
    let database = try asNobody(["backup", "--db", app + "/app.db", "--path", app + "/config", "--repo", "file://" + repo])
    #expect(database.status == 1)
    #expect(database.stderr.contains("cannot be read: permission denied"))
  }

  @Test func zeroPaddingIsNotRestored() throws {
    let work = try TemporaryDirectory("padding")
    let logs = work.join("logs")
    try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
    try TestSupport.shell("head -c 3145728 /dev/urandom > '\(logs)/big.log'")
    // A seed whose first read of the file succeeds and whose second fails, so the stored data
    // is 1 MiB of content and then zero padding.
    let seed = try #require(FaultSeeds.first(.read, outcomes: [false, true]))
    let repo = "file://" + work.join("repo")
    let backup = try TestSupport.lifeboat(
      ["backup", "--path", logs, "--repo", repo], environment: ["LIFEBOAT_FAULTS": "read:0.5,seed:\(seed)"])
    #expect(backup.status == 2, "\(backup.stdout)\(backup.stderr)")
    #expect(backup.stdout.contains("zero padding"))

    let target = work.join("restored")
    let restore = try TestSupport.lifeboat(["restore", "latest", "--target", target, "--repo", repo])
    #expect(restore.status == 0, "\(restore.stderr)")
    #expect(restore.stdout.contains("restored its first 1048576 of 3145728 bytes"))
    let prefix = try TestSupport.shell(
      "test $(stat -c %s '\(target)/logs/big.log') -eq 1048576 && cmp -n 1048576 '\(target)/logs/big.log' '\(logs)/big.log'")
    #expect(prefix.status == 0, "\(prefix.stdout)\(prefix.stderr)")
  }
}
