import Foundation
import Testing

/// A run interrupted by a signal removes its temporary files and records no backup.
@Suite struct InterruptTests {
  @Test(arguments: [SIGTERM, SIGINT])
  func signalRemovesTemporaryFiles(_ signalNumber: Int32) throws {
    let work = try TemporaryDirectory("signal")
    let database = work.join("bank.db")
    try FieldInputs.run(["bank", database])
    let ready = work.join("ready")
    let locker = try FieldInputs.start(["locker", database, "30", ready])
    defer { FieldInputs.stop(locker) }
    try FieldInputs.waitForFile(ready)
    let spool = work.join("spool")
    let repo = work.join("repo")
    try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)

    let backup = Process()
    backup.executableURL = URL(fileURLWithPath: TestSupport.lifeboatBinary)
    backup.arguments = [
      "backup", "--db", database, "--repo", "file://" + repo, "--spool-dir", spool, "--busy-timeout", "60s",
    ]
    backup.environment = TestSupport.cleanEnvironment()
    backup.standardOutput = FileHandle.nullDevice
    backup.standardError = FileHandle.nullDevice
    try backup.run()

    // Wait until the copy is waiting for the lock: its spool file exists, created 0600.
    let deadline = Date().addingTimeInterval(20)
    var spooled: [String] = []
    while spooled.isEmpty && Date() < deadline {
      usleep(50_000)
      spooled = try FileManager.default.contentsOfDirectory(atPath: spool)
    }
    try #require(!spooled.isEmpty)
    var info = stat()
    stat(spool + "/" + spooled[0], &info)
    #expect(info.st_mode & 0o777 == 0o600)

    kill(backup.processIdentifier, signalNumber)
    backup.waitUntilExit()
    #expect(backup.terminationStatus == 128 + signalNumber)
    #expect(try FileManager.default.contentsOfDirectory(atPath: spool).isEmpty)
    let leftovers = try TestSupport.shell("find '\(repo)' -type f | wc -l")
    #expect(leftovers.stdout == "0\n")
  }

  @Test func staleSpoolCopiesRemoved() throws {
    let work = try TemporaryDirectory("stalespool")
    let spool = work.join("spool")
    try TestSupport.shell("""
      mkdir -p '\(spool)' '\(work.path)/config' && echo a > '\(work.path)/config/a'
      touch -d '2 hours ago' '\(spool)/lifeboat-999999-42-app.db' '\(spool)/lifeboat-999999-42-app.db-wal'
      touch '\(spool)/lifeboat-999998-42-recent.db'
      touch -d '2 hours ago' '\(spool)/lifeboat-1-42-live.db' '\(spool)/unrelated.db'
      """)
    let backup = try TestSupport.lifeboat([
      "backup", "--path", work.join("config"), "--spool-dir", spool, "--repo", "file://" + work.join("repo"),
    ])
    #expect(backup.status == 0, "\(backup.stderr)")
    let left = try FileManager.default.contentsOfDirectory(atPath: spool).sorted()
    // Gone: a dead process's old copy. Kept: a recent one, a live process's, and other files.
    #expect(left == ["lifeboat-1-42-live.db", "lifeboat-999998-42-recent.db", "unrelated.db"])
  }
}
