import Foundation
import Testing

/// SQLite copies under the conditions that broke other tools: commits only in the `-wal`
/// file, constant writes in rollback-journal mode, and locks held by the application.
@Suite struct DatabaseSnapshotTests {
  @Test func walOnlyCommitsAreInTheCopy() throws {
    let work = try TemporaryDirectory("wal")
    let database = work.join("app.db")
    let ready = work.join("ready")
    let holder = try FieldInputs.start(["wal-holder", database, "30", ready])
    defer { FieldInputs.stop(holder) }
    try FieldInputs.waitForFile(ready)
    // The application keeps the rows in the -wal file; the main file is nearly empty.
    var info = stat()
    stat(database + "-wal", &info)
    #expect(info.st_size > 10_000)

    let repo = work.join("repo")
    let backup = try TestSupport.lifeboat(["backup", "--db", database, "--repo", "file://" + repo])
    #expect(backup.status == 0, "\(backup.stderr)")
    // The application is unaffected and can still write.
    #expect(holder.isRunning)
    let write = try TestSupport.shell("sqlite3 '\(database)' \"INSERT INTO orders (item) VALUES ('after')\"")
    #expect(write.status == 0, "\(write.stderr)")

    let target = work.join("restored")
    let restore = try TestSupport.lifeboat(["restore", "latest", "--target", target, "--repo", "file://" + repo])
    #expect(restore.status == 0, "\(restore.stderr)")
    let rows = try TestSupport.shell("sqlite3 '\(target)/app.db' 'SELECT count(*), min(item) FROM orders'")
    #expect(rows.stdout == "1000|item-0\n")
    #expect(!FileManager.default.fileExists(atPath: target + "/app.db-wal"))
    #expect(!FileManager.default.fileExists(atPath: target + "/app.db-shm"))
  }

  @Test func constantWritesInRollbackMode() throws {
    let work = try TemporaryDirectory("bank")
    let database = work.join("bank.db")
    try FieldInputs.run(["bank", database])
    let before = try FieldInputs.run(["bank-check", database]).stdout
    let writer = try FieldInputs.start(["bank-writer", database, "20"])
    defer { FieldInputs.stop(writer) }
    usleep(500_000)

    let repo = work.join("repo")
    let started = Date()
    let backup = try TestSupport.lifeboat(["backup", "--db", database, "--repo", "file://" + repo])
    #expect(backup.status == 0, "\(backup.stderr)")
    #expect(Date().timeIntervalSince(started) < 15)
    FieldInputs.stop(writer)
    let after = try FieldInputs.run(["bank-check", database]).stdout

    let target = work.join("restored")
    let restore = try TestSupport.lifeboat(["restore", "latest", "--target", target, "--repo", "file://" + repo])
    #expect(restore.status == 0, "\(restore.stderr)")
    let restored = try JSONSerialization.jsonObject(
      with: Data(try FieldInputs.run(["bank-check", target + "/bank.db"]).stdout.utf8)) as? [String: Any]
    #expect(restored?["integrity"] as? String == "ok")
    #expect(restored?["sum"] as? Int == 1_000_000)
    let startTx = (try JSONSerialization.jsonObject(with: Data(before.utf8)) as? [String: Any])?["tx"] as? Int ?? 0
    let endTx = (try JSONSerialization.jsonObject(with: Data(after.utf8)) as? [String: Any])?["tx"] as? Int ?? 0
    let tx = restored?["tx"] as? Int ?? -1
    #expect(tx >= startTx)
    #expect(tx <= endTx)
  }

  @Test func shortLockIsWaitedOut() throws {
    let work = try TemporaryDirectory("shortlock")
    let database = work.join("bank.db")
    try FieldInputs.run(["bank", database])
    let ready = work.join("ready")
    let locker = try FieldInputs.start(["locker", database, "3", ready])
    defer { FieldInputs.stop(locker) }
    try FieldInputs.waitForFile(ready)

    let started = Date()
    let backup = try TestSupport.lifeboat([
      "backup", "--db", database, "--repo", "file://" + work.join("repo"), "--busy-timeout", "30s",
    ])
    #expect(backup.status == 0, "\(backup.stderr)")
    #expect(Date().timeIntervalSince(started) >= 1.5)
  }

  @Test func longLockGivesUpAtTimeout() throws {
    let work = try TemporaryDirectory("longlock")
    let database = work.join("bank.db")
    try FieldInputs.run(["bank", database])
    let ready = work.join("ready")
    let locker = try FieldInputs.start(["locker", database, "60", ready])
    defer { FieldInputs.stop(locker) }
    try FieldInputs.waitForFile(ready)
    let spool = work.join("spool")
    try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)

    let started = Date()
    let backup = try TestSupport.lifeboat([
      "backup", "--db", database, "--repo", "file://" + work.join("repo"), "--busy-timeout", "2s",
      "--spool-dir", spool,
    ])
    let elapsed = Date().timeIntervalSince(started)
    #expect(backup.status == 75, "\(backup.stderr)")
    #expect(backup.stderr.contains("database \(database) stayed locked"))
    #expect(elapsed < 20)
    #expect(try FileManager.default.contentsOfDirectory(atPath: spool).isEmpty)
    let listed = try TestSupport.lifeboat(["list", "--repo", "file://" + work.join("repo")])
    #expect(listed.stdout.contains("no backups"))
  }
}
