import Foundation
import Lifeboat
import Testing

/// `RunLock` in process, on a local store. Serialized because `ExitActions` is process-wide.
@Suite(.serialized) struct RunLockTests {
  struct Fixture {
    let work: TemporaryDirectory
    let store: LocalObjectStore

    init(_ label: String) throws {
      work = try TemporaryDirectory(label)
      store = try LocalObjectStore(root: work.join("repo"), create: true)
    }

    func options(_ directory: String = "locks", staleAfter: TimeInterval = 3600) -> RunLock.Options {
      RunLock.Options(command: "backup", staleAfter: staleAfter, directory: work.join(directory))
    }

    func acquire(_ directory: String = "locks", staleAfter: TimeInterval = 3600) throws -> RunLock {
      try RunLock.acquire(store: store, options: options(directory, staleAfter: staleAfter), logger: .disabled())
    }

    func storedRecord() throws -> LockRecord? {
      try RunLock.readObject(store: store)?.record
    }

    func putRecord(host: String, pid: Int32, age: TimeInterval, token: String = "feedfacefeedface") throws {
      var record = LockRecord.current(command: "prune", now: Date().addingTimeInterval(-age))
      record.host = host
      record.pid = pid
      record.token = token
      try store.put(key: RunLock.objectKey, data: try record.encoded())
      // The storage time counts too: it is when that run last wrote the object.
      try FileManager.default.setAttributes(
        [.modificationDate: Date().addingTimeInterval(-age)],
        ofItemAtPath: try store.path(for: RunLock.objectKey))
    }
  }

  @Test func acquireWritesRecord() throws {
    let fixture = try Fixture("runlock-write")
    let lock = try fixture.acquire()
    let record = try #require(try fixture.storedRecord())
    #expect(record.pid == getpid())
    #expect(record.command == "backup")
    #expect(record.token == lock.holder.token)
    #expect(record.isOnThisHost)

    lock.release()
    #expect(try fixture.store.head(key: RunLock.objectKey) == nil)
    lock.release()
  }

  @Test func secondRunNamesHolder() throws {
    let fixture = try Fixture("runlock-second")
    let first = try fixture.acquire()

    let sameMachine = #expect(throws: LifeboatError.self) { try fixture.acquire() }
    #expect(sameMachine?.code == .temporaryFailure)
    #expect(sameMachine?.message.contains("another lifeboat process on this host") == true)
    #expect(sameMachine?.message.contains("PID \(getpid())") == true)

    let otherMachine = #expect(throws: LifeboatError.self) { try fixture.acquire("other-locks") }
    #expect(otherMachine?.code == .temporaryFailure)
    #expect(otherMachine?.message.contains("'lifeboat backup' (PID \(getpid()) on host ") == true)
    #expect(otherMachine?.hint?.contains("lifeboat unlock") == true)

    first.release()
    let second = try fixture.acquire("other-locks")
    second.release()
  }

  @Test func storageTimeKeepsLockFresh() throws {
    let fixture = try Fixture("runlock-storage-time")
    // A writer whose clock is behind: the refresh time looks old, the storage time does not.
    var record = LockRecord.current(command: "backup", now: Date().addingTimeInterval(-7200))
    record.host = "db7"
    try fixture.store.put(key: RunLock.objectKey, data: try record.encoded())
    let state = try #require(try RunLock.readObject(store: fixture.store))
    #expect(state.age < 60)
    #expect(throws: LifeboatError.self) { try fixture.acquire() }
  }

  @Test func staleLockTakenOver() throws {
    let fixture = try Fixture("runlock-stale")
    try fixture.putRecord(host: "db7", pid: 4242, age: 7200)
    let lock = try fixture.acquire()
    #expect(try fixture.storedRecord()?.token == lock.holder.token)
    lock.release()
  }

  @Test func freshForeignLockBlocks() throws {
    let fixture = try Fixture("runlock-fresh")
    try fixture.putRecord(host: "db7", pid: 4242, age: 10)
    let error = #expect(throws: LifeboatError.self) { try fixture.acquire() }
    #expect(error?.message.contains("'lifeboat prune' (PID 4242 on host db7)") == true)
    #expect(try fixture.storedRecord()?.host == "db7")
  }

  @Test func refreshAdvancesTime() throws {
    let fixture = try Fixture("runlock-refresh")
    let lock = try fixture.acquire(staleAfter: 1)
    defer { lock.release() }
    let first = try #require(try fixture.storedRecord()?.refreshTime)
    #expect(waitUntil(timeout: 3) { ((try? fixture.storedRecord()?.refreshTime) ?? first) > first })
  }

  @Test func removedObjectRewritten() throws {
    let fixture = try Fixture("runlock-rewrite")
    let lock = try fixture.acquire(staleAfter: 1)
    defer { lock.release() }
    try fixture.store.delete(key: RunLock.objectKey)
    #expect(waitUntil(timeout: 3) { (try? fixture.storedRecord()?.token) == lock.holder.token })
  }

  @Test func replacedLockLeftAlone() throws {
    let fixture = try Fixture("runlock-replaced")
    let lock = try fixture.acquire(staleAfter: 1)
    try fixture.putRecord(host: "db7", pid: 4242, age: 0, token: "0000000000000000")
    // The refresher must stop rather than overwrite the other run's lock.
    usleep(700_000)
    #expect(try fixture.storedRecord()?.token == "0000000000000000")
    lock.release()
    #expect(try fixture.storedRecord()?.token == "0000000000000000")
  }

  @Test func exitActionsReleaseLock() throws {
    let fixture = try Fixture("runlock-exit")
    let lock = try fixture.acquire()
    ExitActions.runAll()
    #expect(try fixture.store.head(key: RunLock.objectKey) == nil)
    let next = try fixture.acquire()
    next.release()
    lock.release()
  }

  @Test func removeRejectsLiveLock() throws {
    let fixture = try Fixture("runlock-remove-live")
    try fixture.putRecord(host: "db7", pid: 4242, age: 10)
    let error = #expect(throws: LifeboatError.self) {
      try RunLock.remove(store: fixture.store, options: fixture.options(), force: false, logger: .disabled())
    }
    #expect(error?.code == .temporaryFailure)
    #expect(error?.message.contains("within stale_after") == true)
    #expect(try fixture.storedRecord() != nil)

    let removed = try RunLock.remove(store: fixture.store, options: fixture.options(), force: true, logger: .disabled())
    #expect(removed?.record?.host == "db7")
    #expect(try fixture.storedRecord() == nil)
  }

  @Test func removeStaleLock() throws {
    let fixture = try Fixture("runlock-remove-stale")
    try fixture.putRecord(host: "db7", pid: 4242, age: 7200)
    let removed = try RunLock.remove(store: fixture.store, options: fixture.options(), force: false, logger: .disabled())
    #expect(removed?.record?.pid == 4242)
    #expect(try RunLock.remove(store: fixture.store, options: fixture.options(), force: false, logger: .disabled()) == nil)
  }

  @Test func removeRejectsLocalHolder() throws {
    let fixture = try Fixture("runlock-remove-local")
    let lock = try fixture.acquire()
    defer { lock.release() }
    // The lock object is made to look stale, but this process still holds the local lock.
    var record = lock.holder
    record.refreshedAt = "2000-01-01T00:00:00.000Z"
    try fixture.store.put(key: RunLock.objectKey, data: try record.encoded())
    try FileManager.default.setAttributes(
      [.modificationDate: Date(timeIntervalSince1970: 946_684_800)],
      ofItemAtPath: try fixture.store.path(for: RunLock.objectKey))

    let error = #expect(throws: LifeboatError.self) {
      try RunLock.remove(store: fixture.store, options: fixture.options(), force: false, logger: .disabled())
    }
    #expect(error?.message.contains("is running on this host") == true)
    #expect(error?.message.contains("holds the local lock") == true)
  }

  @Test func lockDirectoryMustBePrivate() throws {
    let fixture = try Fixture("runlock-private")
    let shared = fixture.work.join("shared")
    try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
    chmod(shared, 0o777)
    let error = #expect(throws: LifeboatError.self) { try fixture.acquire("shared") }
    #expect(error?.code == .configuration)
    #expect(try fixture.store.head(key: RunLock.objectKey) == nil)
  }

  @Test func lockFileNamedByLocation() {
    let first = LocalLockFile.path(directory: "/run/lock/lifeboat", location: "file:///srv/backups")
    let second = LocalLockFile.path(directory: "/run/lock/lifeboat", location: "s3://bucket/backups")
    #expect(first != second)
    #expect(first.hasPrefix("/run/lock/lifeboat/lifeboat-"))
    #expect(first.hasSuffix(".lock"))
    #expect(first == LocalLockFile.path(directory: "/run/lock/lifeboat", location: "file:///srv/backups"))
  }
}
