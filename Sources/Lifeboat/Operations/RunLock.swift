import Foundation

/// The lock object found in a repository.
public struct LockObjectState: Sendable {
  /// The holder, or nil when the object is not a readable lock record.
  public var record: LockRecord?
  public var info: ObjectInfo
  /// Seconds since the later of the record's refresh time and the object's storage time.
  public var age: TimeInterval

  public func isStale(after staleAfter: TimeInterval) -> Bool { age > staleAfter }

  /// The holder for messages.
  public var holderDescription: String {
    record?.holderDescription ?? "an unreadable lock object (\(RunLock.objectKey))"
  }
}

/// Lets one `backup` or `prune` at a time work on a repository.
///
/// Two locks are taken, in this order:
/// 1. An flock(2) on a local file named from the repository's location (`LocalLockFile`). It is
///    exact between processes on this machine, and the kernel drops it when a process dies.
/// 2. The lock object `locks/lock.json` in the repository, naming host, PID, command and start
///    time. It covers runs on other machines. The holder rewrites its refresh time every
///    `staleAfter / 4` from a background thread. A lock not refreshed for `staleAfter` belongs
///    to a dead run, so the next run takes it over.
///
/// NOTE: The lock object is best effort. Object stores offer no compare-and-swap that every
/// S3-compatible server supports, so taking it is "read, write ours, read it back and check the
/// token". Two runs on different machines that start within one round trip of each other can
/// both see their own token and both run. Staleness is judged by the reader's clock, so a host
/// whose clock is ahead by more than `staleAfter` treats live locks as stale.
public final class RunLock: @unchecked Sendable {
  public static let objectKey = "locks/lock.json"
  public static let defaultStaleAfter: TimeInterval = 3600

  /// Settings for taking a lock.
  public struct Options: Sendable {
    /// The command recorded as the holder, such as `backup`.
    public var command: String
    public var staleAfter: TimeInterval
    /// The directory of the local lock file.
    public var directory: String

    public init(command: String, staleAfter: TimeInterval = RunLock.defaultStaleAfter, directory: String) {
      self.command = command
      self.staleAfter = staleAfter
      self.directory = directory
    }

    var refreshInterval: TimeInterval { staleAfter / 4 }
  }

  public let store: ObjectStore
  public let options: Options
  private let logger: Logger
  private let local: LocalLockFile
  private let state = NSCondition()
  private var record: LockRecord
  private var stopped = false
  private var refreshing = false
  private var released = false
  private var exitToken = 0

  private init(store: ObjectStore, options: Options, logger: Logger, local: LocalLockFile, record: LockRecord) {
    self.store = store
    self.options = options
    self.logger = logger
    self.local = local
    self.record = record
  }

  /// The record this run wrote.
  public var holder: LockRecord {
    state.lock()
    defer { state.unlock() }
    return record
  }

  /// Takes both locks and starts refreshing the lock object. The lock is released by `release()`
  /// or, at the latest, when the process exits (`ExitActions`).
  ///
  /// - Throws: `LifeboatError` with code `.temporaryFailure` (exit 75) naming the holder when
  ///   another run has the lock. Storage errors when the repository cannot be read or written.
  public static func acquire(store: ObjectStore, options: Options, logger: Logger) throws -> RunLock {
    let record = LockRecord.current(command: options.command)
    let path = LocalLockFile.path(directory: options.directory, location: store.location)
    let local: LocalLockFile
    switch try LocalLockFile.acquire(path: path, record: record) {
    case .held(let holder):
      throw heldLocally(location: store.location, holder: holder)
    case .acquired(let file):
      local = file
    }

    do {
      if let existing = try readObject(store: store) {
        // A holder on this host whose process is gone is dead for certain: this run holds the
        // local lock, which any live run of this host against this repository would hold.
        let deadHere = existing.record.map { $0.isOnThisHost && !$0.isLocalProcessAlive } ?? false
        guard existing.isStale(after: options.staleAfter) || deadHere else {
          throw held(location: store.location, by: existing, staleAfter: options.staleAfter)
        }
        logger.warning(deadHere ? "taking over the repository lock of a run on this host that is gone" : "taking over a stale repository lock", [
          ("holder", .string(existing.holderDescription)),
          ("age_s", .int(Int64(existing.age))), ("stale_after_s", .int(Int64(options.staleAfter))),
        ])
      }
      try store.put(key: objectKey, data: try record.encoded())
      // A run that wrote at the same moment may have overwritten ours; whoever's token is read
      // back owns the lock.
      let readBack: LockObjectState?
      do {
        readBack = try readObject(store: store)
      } catch {
        // The object just written is most likely ours; left behind it would block later runs.
        try? store.delete(key: objectKey)
        throw error
      }
      guard let written = readBack, written.record?.token == record.token else {
        let current = try readObject(store: store)
        throw current.map { held(location: store.location, by: $0, staleAfter: options.staleAfter) }
          ?? LifeboatError(
            .temporaryFailure, "the lock object in \(store.location) vanished right after it was written",
            hint: "another run may be removing locks; retry later")
      }
    } catch {
      local.release()
      throw error
    }

    let lock = RunLock(store: store, options: options, logger: logger, local: local, record: record)
    lock.exitToken = ExitActions.register { lock.release() }
    let thread = Thread { lock.refreshLoop() }
    thread.name = "lifeboat-lock-refresh"
    thread.start()
    logger.debug("repository lock taken", [
      ("lock_file", .string(path)), ("stale_after_s", .int(Int64(options.staleAfter))),
    ])
    return lock
  }

  /// Stops refreshing, deletes the lock object if it is still this run's, and drops the local
  /// lock. Safe to call more than once and from the signal handler's thread.
  public func release() {
    state.lock()
    defer { state.unlock() }
    guard !released else { return }
    released = true
    stopped = true
    state.broadcast()
    while refreshing { state.wait() }
    ExitActions.unregister(exitToken)

    do {
      let current = try RunLock.readObject(store: store)
      if current?.record?.token == record.token {
        try store.delete(key: RunLock.objectKey)
        logger.debug("repository lock released")
      } else if let current {
        logger.warning("the repository lock was taken over by another run; leaving its lock object", [
          ("holder", .string(current.holderDescription)),
        ])
      }
    } catch {
      logger.warning("cannot delete the repository lock object; it goes stale on its own", [
        ("key", .string(RunLock.objectKey)), ("error", .string("\(error)")),
        ("stale_after_s", .int(Int64(options.staleAfter))),
      ])
    }
    local.release()
  }

  /// Rewrites the refresh time every `refreshInterval` until `release()`. Stops for good when
  /// another run's token is found: overwriting it would hide that the lock changed hands.
  private func refreshLoop() {
    state.lock()
    defer { state.unlock() }
    while !stopped {
      _ = state.wait(until: Date().addingTimeInterval(options.refreshInterval))
      if stopped { break }
      refreshing = true
      var next = record
      state.unlock()

      let keepGoing = refresh(&next)

      state.lock()
      record = next
      refreshing = false
      state.broadcast()
      if !keepGoing { stopped = true }
    }
  }

  private func refresh(_ record: inout LockRecord) -> Bool {
    do {
      let current = try RunLock.readObject(store: store)
      if let current, current.record?.token != record.token {
        logger.error("another run replaced this run's repository lock; two runs may now overlap", [
          ("holder", .string(current.holderDescription)),
        ])
        return false
      }
      if current == nil {
        logger.warning("the repository lock object was removed while this run held it; writing it again")
      }
      record.refreshedAt = Timestamp.iso8601Milliseconds(Date())
      try store.put(key: RunLock.objectKey, data: try record.encoded())
      logger.trace("repository lock refreshed")
    } catch {
      logger.warning("cannot refresh the repository lock; retrying", [
        ("error", .string("\(error)")), ("retry_in_s", .double(options.refreshInterval)),
      ])
    }
    return true
  }

  /// Reads the lock object, or returns nil when there is none.
  public static func readObject(store: ObjectStore, now: Date = Date()) throws -> LockObjectState? {
    guard let info = try store.head(key: objectKey) else { return nil }
    let bytes: [UInt8]
    do {
      bytes = try store.get(key: objectKey)
    } catch StorageError.notFound {
      return nil
    }
    let record = LockRecord.decode(bytes)
    let times = [record?.refreshTime, info.lastModified].compactMap { $0 }
    let age = times.max().map { now.timeIntervalSince($0) } ?? 0
    return LockObjectState(record: record, info: info, age: age)
  }

  /// Removes a lock left by a run that is gone: `lifeboat unlock`.
  ///
  /// A lock is live when its refresh time is within `staleAfter`, when its holder is a process
  /// alive on this host, or when a process here holds the local lock file. A live lock is
  /// removed only with `force`.
  ///
  /// - Returns: the lock object that was removed, or nil when there was none.
  /// - Throws: `LifeboatError` with code `.temporaryFailure` for a live lock without `force`.
  public static func remove(store: ObjectStore, options: Options, force: Bool, logger: Logger) throws
    -> LockObjectState?
  {
    let path = LocalLockFile.path(directory: options.directory, location: store.location)
    // The holder of the local lock is a live process; its record may not be written yet.
    var localHolder: String?
    if case .held(let holder) = try LocalLockFile.probe(path: path) {
      localHolder = holder?.holderDescription ?? "PID unknown"
    }
    let existing = try readObject(store: store)
    guard let existing else {
      if let localHolder {
        logger.warning("no lock object, but a process on this host holds the local lock", [
          ("holder", .string(localHolder))
        ])
      }
      return nil
    }

    var reasons: [String] = []
    let deadHere = localHolder == nil && deadLocalHolder(existing) != nil
    if !existing.isStale(after: options.staleAfter) && !deadHere {
      reasons.append("it was refreshed \(formatSeconds(existing.age)) ago, within stale_after (\(formatSeconds(options.staleAfter)))")
    }
    if existing.record?.isLocalProcessAlive == true {
      reasons.append("its process \(existing.record!.pid) is running on this host")
    }
    if let localHolder {
      reasons.append("a lifeboat process on this host (\(localHolder)) holds the local lock")
    }
    if !reasons.isEmpty && !force {
      var hint = "wait for that run to finish; if you are sure it is gone, run 'lifeboat unlock --force'"
      if localHolder == nil, let dead = deadLocalHolder(existing) {
        hint = "\(dead); it goes stale in \(formatSeconds(options.staleAfter - existing.age)), "
          + "or run 'lifeboat unlock --force' to remove it now"
      }
      throw LifeboatError(
        .temporaryFailure,
        "the lock of \(store.location) held by \(existing.holderDescription) looks live: \(reasons.joined(separator: "; "))",
        hint: hint)
    }
    if !reasons.isEmpty {
      logger.warning("removing a live-looking lock because of --force", [
        ("holder", .string(existing.holderDescription)),
      ])
    }
    try store.delete(key: objectKey)
    return existing
  }

  private static func held(location: String, by existing: LockObjectState, staleAfter: TimeInterval)
    -> LifeboatError
  {
    var hint = "wait for that run to finish and retry. If it is gone, the lock goes stale "
      + "\(formatSeconds(staleAfter)) after its last refresh and the next run takes it over; "
      + "'lifeboat unlock' removes a stale lock, and 'lifeboat unlock --force' any lock"
    if let dead = deadLocalHolder(existing) {
      hint = "\(dead); the next run takes the lock over once it is stale, in "
        + "\(formatSeconds(staleAfter - existing.age)), or remove it now with 'lifeboat unlock --force'"
    }
    return LifeboatError(
      .temporaryFailure,
      "repository \(location) is locked by \(existing.holderDescription), last refreshed \(formatSeconds(existing.age)) ago",
      hint: hint)
  }

  /// Returns a note saying that the holder was a process on this host that no longer exists,
  /// or nil.
  private static func deadLocalHolder(_ existing: LockObjectState) -> String? {
    guard let record = existing.record, record.isOnThisHost, !record.isLocalProcessAlive else {
      return nil
    }
    return "PID \(record.pid) is no longer running on this host, so that run is gone"
  }

  private static func heldLocally(location: String, holder: LockRecord?) -> LifeboatError {
    let name = holder.map { "another lifeboat process on this host: \($0.holderDescription)" }
      ?? "another lifeboat process on this host"
    return LifeboatError(
      .temporaryFailure, "repository \(location) is locked by \(name)",
      hint: "wait for it to finish and retry. The kernel releases this lock when that process "
        + "exits, even if it is killed; 'lifeboat unlock' then removes the lock object a killed "
        + "run leaves in the repository")
  }
}

/// Formats seconds for messages: `45 s`, `12 min`, `1 h`, `2.5 h`.
func formatSeconds(_ seconds: TimeInterval) -> String {
  let value = max(0, seconds)
  if value < 120 { return "\(Int(value.rounded())) s" }
  if value < 3600 { return "\(Int((value / 60).rounded())) min" }
  let hours = (value / 360).rounded() / 10
  return hours == hours.rounded() ? "\(Int(hours)) h" : "\(hours) h"
}
