import Foundation
import Lifeboat
import Testing

/// The repository lock through the real binary: concurrent runs, kill -9, signals, `unlock`.
///
/// A backup is kept running by a database that another process holds an exclusive lock on:
/// lifeboat waits for it (its busy timeout) while holding the repository lock.
@Suite struct LockTests {
  struct Fixture {
    let work: TemporaryDirectory
    let repository: String
    let url: String
    let database: String
    let lockObject: String
    let environment: [String: String]

    init(_ label: String, staleAfter: String = "1h") throws {
      work = try TemporaryDirectory(label)
      repository = work.join("repo")
      url = "file://" + repository
      database = work.join("app.db")
      lockObject = repository + "/locks/lock.json"
      environment = [
        "LIFEBOAT_LOCK_DIRECTORY": work.join("locks"), "LIFEBOAT_LOCK_STALE_AFTER": staleAfter,
      ]
      try TestSupport.shell("sqlite3 '\(database)' 'CREATE TABLE t (x); INSERT INTO t VALUES (0)'")
    }

    func lifeboat(_ arguments: [String], environment extra: [String: String] = [:]) throws -> ProcessResult {
      try TestSupport.lifeboat(arguments, environment: environment.merging(extra) { _, new in new })
    }

    func start(_ arguments: [String]) throws -> BackgroundProcess {
      try BackgroundProcess.lifeboat(arguments, environment: environment)
    }

    var backupArguments: [String] { ["backup", "--db", database, "--repo", url] }

    /// Starts a backup that waits on the held database, and returns once it holds the lock.
    func startSlowBackup() throws -> BackgroundProcess {
      let backup = try start(backupArguments)
      guard waitUntil(timeout: 15, { FileManager.default.fileExists(atPath: lockObject) }) else {
        backup.signal(SIGKILL)
        throw TestFailure("the backup never took the lock: \(backup.wait().stderr)")
      }
      return backup
    }

    func lockRecord() throws -> [String: Any] {
      let data = try Data(contentsOf: URL(fileURLWithPath: lockObject))
      return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    /// Writes a lock object as another run would, refreshed `age` seconds ago.
    func writeForeignLock(host: String, pid: Int32, age: TimeInterval) throws {
      let formatter = ISO8601DateFormatter()
      formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
      let refreshed = formatter.string(from: Date().addingTimeInterval(-age))
      let record: [String: Any] = [
        "host": host, "pid": pid, "command": "backup", "started_at": refreshed,
        "refreshed_at": refreshed, "token": "0123456789abcdef", "lifeboat_version": "0.1.0",
      ]
      try FileManager.default.createDirectory(
        atPath: repository + "/locks", withIntermediateDirectories: true)
      try JSONSerialization.data(withJSONObject: record).write(to: URL(fileURLWithPath: lockObject))
      // The storage time counts too: it is when that run last wrote the object.
      try FileManager.default.setAttributes(
        [.modificationDate: Date().addingTimeInterval(-age)], ofItemAtPath: lockObject)
    }
  }

  @Test func concurrentBackupsOneRuns() throws {
    let fixture = try Fixture("lock-concurrent")
    let holder = try DatabaseLockHolder(path: fixture.database)
    defer { holder.stop() }
    let first = try fixture.startSlowBackup()

    // Same lock directory: the local flock names the holder.
    let second = try fixture.lifeboat(fixture.backupArguments)
    #expect(second.status == 75, "\(second.stderr)")
    #expect(second.stderr.contains("locked by another lifeboat process on this host"))
    #expect(second.stderr.contains("'lifeboat backup' (PID \(first.pid) on host "))
    #expect(second.stderr.contains(" since 20"))
    #expect(second.stderr.contains("lifeboat unlock"))

    // Another lock directory stands for another machine: the lock object names the holder.
    let third = try fixture.lifeboat(
      fixture.backupArguments, environment: ["LIFEBOAT_LOCK_DIRECTORY": fixture.work.join("other-locks")])
    #expect(third.status == 75, "\(third.stderr)")
    #expect(third.stderr.contains("is locked by 'lifeboat backup' (PID \(first.pid) on host "))
    #expect(third.stderr.contains("last refreshed"))
    #expect(third.stderr.contains("lifeboat unlock"))

    let prune = try fixture.lifeboat(["prune", "--keep-last", "1", "--repo", fixture.url])
    #expect(prune.status == 75, "\(prune.stderr)")

    holder.stop()
    let result = first.wait()
    #expect(result.status == 0, "\(result.stderr)")
    #expect(!FileManager.default.fileExists(atPath: fixture.lockObject))
    #expect(try BackupHistory.listedIDs(repository: fixture.repository).count == 1)
  }

  @Test func killedBackupRecovers() throws {
    let fixture = try Fixture("lock-kill", staleAfter: "5s")
    let complete = try fixture.lifeboat(fixture.backupArguments)
    #expect(complete.status == 0, "\(complete.stderr)")

    let holder = try DatabaseLockHolder(path: fixture.database)
    let killed = try fixture.startSlowBackup()
    killed.signal(SIGKILL)
    #expect(killed.wait().status == 9)
    holder.stop()

    // The lock object outlives the process; only the committed backup is listed.
    let record = try fixture.lockRecord()
    #expect(record["pid"] as? Int == Int(killed.pid))
    #expect(try BackupHistory.listedIDs(repository: fixture.repository).count == 1)

    // The holder ran on this host and its process is gone, so the next run takes the lock over
    // at once, without waiting for stale_after.
    let next = try fixture.lifeboat(fixture.backupArguments)
    #expect(next.status == 0, "\(next.stderr)")
    #expect(next.stderr.contains("taking over the repository lock of a run on this host that is gone"))
    #expect(next.stderr.contains("PID \(killed.pid)"))
    #expect(!FileManager.default.fileExists(atPath: fixture.lockObject))

    let prune = try fixture.lifeboat(["prune", "--keep-last", "1", "--repo", fixture.url])
    #expect(prune.status == 0, "\(prune.stderr)")
    #expect(try BackupHistory.listedIDs(repository: fixture.repository).count == 1)
    let verify = try fixture.lifeboat(["verify", "--repo", fixture.url])
    #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
  }

  @Test func unlockAfterKill() throws {
    let fixture = try Fixture("lock-unlock", staleAfter: "1h")
    let holder = try DatabaseLockHolder(path: fixture.database)
    let killed = try fixture.startSlowBackup()
    killed.signal(SIGKILL)
    _ = killed.wait()
    holder.stop()

    // Refreshed moments ago, but its process on this host is gone: unlock removes it without
    // --force.
    let removed = try fixture.lifeboat(["unlock", "--repo", fixture.url])
    #expect(removed.status == 0, "\(removed.stderr)")
    #expect(removed.stdout.contains("removed the lock of 'lifeboat backup' (PID \(killed.pid)"))
    #expect(!FileManager.default.fileExists(atPath: fixture.lockObject))

    let next = try fixture.lifeboat(fixture.backupArguments)
    #expect(next.status == 0, "\(next.stderr)")
    #expect(try BackupHistory.listedIDs(repository: fixture.repository).count == 1)
  }

  @Test func unlockRemovesStaleLock() throws {
    let fixture = try Fixture("lock-stale")
    try fixture.writeForeignLock(host: "db7", pid: 4242, age: 2 * 3600)
    let unlock = try fixture.lifeboat(["unlock", "--repo", fixture.url])
    #expect(unlock.status == 0, "\(unlock.stderr)")
    #expect(unlock.stdout.contains("removed the lock of 'lifeboat backup' (PID 4242 on host db7)"))
    #expect(!FileManager.default.fileExists(atPath: fixture.lockObject))

    let none = try fixture.lifeboat(["unlock", "--repo", fixture.url])
    #expect(none.status == 0)
    #expect(none.stdout.contains("no lock in \(fixture.url)"))
  }

  @Test func staleForeignLockTakenOver() throws {
    let fixture = try Fixture("lock-takeover")
    try fixture.writeForeignLock(host: "db7", pid: 4242, age: 2 * 3600)
    let backup = try fixture.lifeboat(fixture.backupArguments)
    #expect(backup.status == 0, "\(backup.stderr)")
    #expect(backup.stderr.contains("taking over a stale repository lock"))
    #expect(backup.stderr.contains("PID 4242 on host db7"))
    #expect(!FileManager.default.fileExists(atPath: fixture.lockObject))
  }

  @Test func liveForeignLockBlocks() throws {
    let fixture = try Fixture("lock-foreign")
    try fixture.writeForeignLock(host: "db7", pid: 4242, age: 5)
    let backup = try fixture.lifeboat(fixture.backupArguments)
    #expect(backup.status == 75, "\(backup.stderr)")
    #expect(backup.stderr.contains("locked by 'lifeboat backup' (PID 4242 on host db7)"))
    #expect(try BackupHistory.listedIDs(repository: fixture.repository).isEmpty)

    let unlock = try fixture.lifeboat(["unlock", "--repo", fixture.url])
    #expect(unlock.status == 75)
    #expect(FileManager.default.fileExists(atPath: fixture.lockObject))
    // The lock directory is per machine; the object's holder is another host, so this run's
    // refusal is about the refresh time alone.
    #expect(unlock.stderr.contains("within stale_after"))
  }

  @Test func localProcessLockIsLive() throws {
    let fixture = try Fixture("lock-alive")
    // Old refresh time, but the PID is this test process, alive on this host.
    var name = [CChar](repeating: 0, count: 256)
    gethostname(&name, 255)
    try fixture.writeForeignLock(host: String(cString: name), pid: getpid(), age: 2 * 3600)

    let unlock = try fixture.lifeboat(["unlock", "--repo", fixture.url])
    #expect(unlock.status == 75, "\(unlock.stderr)")
    #expect(unlock.stderr.contains("its process \(getpid()) is running on this host"))
    let forced = try fixture.lifeboat(["unlock", "--force", "--repo", fixture.url])
    #expect(forced.status == 0, "\(forced.stderr)")
  }

  @Test func sigtermReleasesLock() throws {
    let fixture = try Fixture("lock-sigterm")
    let holder = try DatabaseLockHolder(path: fixture.database)
    let backup = try fixture.startSlowBackup()
    backup.signal(SIGTERM)
    let result = backup.wait()
    holder.stop()
    #expect(result.status == 143)
    #expect(result.stderr.contains("interrupted by signal 15; no backup was recorded by this run"))
    #expect(!FileManager.default.fileExists(atPath: fixture.lockObject))
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: fixture.repository + "/backups")
    #expect(leftovers.isEmpty, "\(leftovers)")

    let next = try fixture.lifeboat(fixture.backupArguments)
    #expect(next.status == 0, "\(next.stderr)")
  }

  @Test func failedBackupReleasesLock() throws {
    let fixture = try Fixture("lock-failed")
    let holder = try DatabaseLockHolder(path: fixture.database)
    defer { holder.stop() }
    // The database stays locked past the busy timeout, so the backup fails after taking the lock.
    let backup = try fixture.lifeboat(fixture.backupArguments + ["--busy-timeout", "1s"])
    #expect(backup.status == 75, "\(backup.stderr)")
    #expect(backup.stderr.contains("stayed locked by another connection"))
    #expect(!FileManager.default.fileExists(atPath: fixture.lockObject))
  }

  @Test func lockRefreshedWhileRunning() throws {
    let fixture = try Fixture("lock-refresh", staleAfter: "1s")
    let holder = try DatabaseLockHolder(path: fixture.database)
    defer { holder.stop() }
    let backup = try fixture.startSlowBackup()
    let first = try fixture.lockRecord()
    usleep(800_000)
    let later = try fixture.lockRecord()
    #expect(later["token"] as? String == first["token"] as? String)
    #expect((later["refreshed_at"] as? String ?? "") > (first["refreshed_at"] as? String ?? "~"))

    // Refreshed every quarter of stale_after, the lock never goes stale under a live run.
    let blocked = try fixture.lifeboat(
      fixture.backupArguments, environment: ["LIFEBOAT_LOCK_DIRECTORY": fixture.work.join("other-locks")])
    #expect(blocked.status == 75, "\(blocked.stderr)")
    holder.stop()
    #expect(backup.wait().status == 0)
  }

  @Test func invalidStaleAfterRejected() throws {
    let fixture = try Fixture("lock-invalid", staleAfter: "0s")
    let backup = try fixture.lifeboat(fixture.backupArguments)
    #expect(backup.status == 78)
    #expect(backup.stderr.contains("stale_after in [lock] must be at least 1s"))
  }
}
