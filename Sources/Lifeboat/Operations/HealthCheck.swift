import Foundation

/// The verdict of one health check, ordered from best to worst.
public enum HealthStatus: String, Sendable, Comparable, CaseIterable {
  case healthy
  case degraded
  case unhealthy

  /// The exit status of `lifeboat health`: 0, 1 or 2, as monitoring plugins use them.
  public var exitCode: Int32 {
    switch self {
    case .healthy: return 0
    case .degraded: return 1
    case .unhealthy: return 2
    }
  }

  public static func < (lhs: HealthStatus, rhs: HealthStatus) -> Bool {
    lhs.exitCode < rhs.exitCode
  }
}

/// One check's verdict and the reason for it.
public struct HealthCheckResult: Sendable, Equatable {
  public var name: String
  public var status: HealthStatus
  public var reason: String
}

/// Checks whether backups are being taken and can go on being taken: the storage responds, the
/// newest valid backup is recent, no run holds the lock for too long, the spool directory has
/// room, and the circuit breaker is closed.
public struct HealthCheck {
  /// Seconds: a newest complete backup older than this is unhealthy.
  public var maxAge: Double
  /// Bytes: less free space than this in the spool directory is degraded.
  public var minFreeSpace: Int64?
  public var spoolDirectory: String
  /// Databases the backup copies into the spool directory, whose sizes it must have room for.
  public var databases: [String]
  public var lockFile: String?
  public var now = Date()

  public init(maxAge: Double, minFreeSpace: Int64?, spoolDirectory: String, databases: [String], lockFile: String?) {
    self.maxAge = maxAge
    self.minFreeSpace = minFreeSpace
    self.spoolDirectory = spoolDirectory
    self.databases = databases
    self.lockFile = lockFile
  }

  /// Runs every check. `openRepository` is called once. An error it throws makes the storage
  /// check unhealthy, and the backup age check too, because it cannot be made.
  public func run(openRepository: () throws -> Repository) -> [HealthCheckResult] {
    var results: [HealthCheckResult] = []
    var repository: Repository?
    var ids: [String] = []
    do {
      let opened = try openRepository()
      let started = Date()
      ids = try opened.listIDs()
      repository = opened
      let elapsed = Date().timeIntervalSince(started)
      results.append(HealthCheckResult(
        name: "storage", status: .healthy,
        reason: "\(opened.store.location) listed in \(String(format: "%.2f", elapsed)) s: \(ids.count) backup(s)"))
    } catch {
      results.append(HealthCheckResult(
        name: "storage", status: .unhealthy, reason: "\(error)"))
    }

    if let repository {
      results.append(checkBackupAge(repository, ids: ids))
    } else {
      results.append(HealthCheckResult(
        name: "backup_age", status: .unhealthy, reason: "not checked: the storage cannot be read"))
    }
    results.append(checkLock())
    results.append(checkSpoolSpace())
    results.append(checkBreaker(repository?.store))
    return results
  }

  // MARK: Backup age

  /// Walks back from the newest backup to the first valid, complete one. A backup is valid when
  /// its manifest reads and its archive exists with the recorded size. An encrypted backup that
  /// no configured key opens is read from its encryption record instead. Backups older than
  /// `maxAge` are read only until one is found, so the walk stays short.
  func checkBackupAge(_ repository: Repository, ids: [String]) -> HealthCheckResult {
    let limit = "max_age \(formatDuration(maxAge))"
    var damaged: [String] = []
    var unknown: [String] = []
    var newestPartial: (id: String, age: Double)?
    for id in ids.reversed() {
      guard let time = BackupID.time(of: id) else { continue }
      let age = max(0, now.timeIntervalSince(time))
      switch inspect(id, in: repository) {
      case .damaged(let problem):
        damaged.append("\(id): \(problem)")
      case .statusUnknown:
        if age <= maxAge { unknown.append(id) }
      case .usable(let overview) where overview.status == "partial":
        if newestPartial == nil { newestPartial = (id, age) }
      case .usable where age <= maxAge:
        let base = "newest complete backup \(id) is \(formatDuration(age)) old (\(limit))"
        guard let first = damaged.first else {
          return HealthCheckResult(name: "backup_age", status: .healthy, reason: base + unknownNote(unknown))
        }
        return HealthCheckResult(
          name: "backup_age", status: .degraded,
          reason: "\(base), but \(damaged.count) newer backup(s) are damaged; \(first)")
      case .usable:
        return stale(
          "newest complete backup \(id) is \(formatDuration(age)) old, more than \(limit)" + unknownNote(unknown),
          newestPartial, unknown: unknown)
      }
      if age > maxAge { break }
    }
    let reason = ids.isEmpty
      ? "no backups in \(repository.store.location)"
      : "no valid complete backup within \(limit)" + (damaged.first.map { "; \($0)" } ?? "") + unknownNote(unknown)
    return stale(reason, newestPartial, unknown: unknown)
  }

  /// Returns the verdict when no complete backup is recent. It is degraded when a partial
  /// backup is recent, or an encrypted one that may be complete but whose status needs a key.
  /// Otherwise it is unhealthy.
  private func stale(_ reason: String, _ partial: (id: String, age: Double)?, unknown: [String]) -> HealthCheckResult {
    if let partial, partial.age <= maxAge {
      return HealthCheckResult(
        name: "backup_age", status: .degraded,
        reason: "\(reason); partial backup \(partial.id) is \(formatDuration(partial.age)) old")
    }
    let status: HealthStatus = unknown.isEmpty ? .unhealthy : .degraded
    return HealthCheckResult(name: "backup_age", status: status, reason: reason)
  }

  /// Names the encrypted backups within `maxAge` whose status needs a key, or returns "".
  private func unknownNote(_ unknown: [String]) -> String {
    guard let newest = unknown.first else { return "" }
    return "; \(unknown.count) encrypted backup(s) within max_age, newest \(newest), not counted: "
      + "their status needs a key, because their encryption records predate that metadata"
  }

  /// The walk's finding about one backup.
  private enum Inspection {
    /// The manifest or encryption record reads, and the archive is in place with its size.
    case usable(BackupOverview)
    /// Encrypted, with its objects in place, but its status needs a key.
    case statusUnknown
    case damaged(String)
  }

  /// Reads the backup's overview and checks that its archive is in place with the recorded
  /// size. An encrypted backup that no configured key opens is read from its encryption record,
  /// so this needs no key.
  private func inspect(_ id: String, in repository: Repository) -> Inspection {
    let overview: BackupOverview
    do {
      overview = try repository.overview(id: id)
    } catch let error as KeyRequiredError {
      guard let record = error.encryptionRecord else { return .statusUnknown }
      return checkStoredObjects(record, in: repository).map(Inspection.damaged) ?? .statusUnknown
    } catch {
      return .damaged("cannot be read: \(error)")
    }
    let source = overview.origin == .manifest ? "the manifest" : "the encryption record"
    do {
      guard let info = try repository.store.head(key: overview.archiveKey) else {
        return .damaged("archive \(overview.archiveKey) is missing")
      }
      if info.size != overview.storedSize {
        return .damaged("archive \(overview.archiveKey) has \(info.size) bytes, \(source) says \(overview.storedSize)")
      }
    } catch {
      return .damaged("archive \(overview.archiveKey) cannot be checked: \(error)")
    }
    return .usable(overview)
  }

  /// Returns what is wrong with the objects an encryption record lists, or nil when each is in
  /// place with its recorded size.
  private func checkStoredObjects(_ record: EncryptionRecord, in repository: Repository) -> String? {
    for object in record.objects {
      do {
        guard let info = try repository.store.head(key: object.key) else { return "\(object.key) is missing" }
        if info.size != object.size {
          return "\(object.key) has \(info.size) bytes, the encryption record says \(object.size)"
        }
      } catch {
        return "\(object.key) cannot be checked: \(error)"
      }
    }
    return nil
  }

  // MARK: Lock

  /// Inspects the lock file without taking the lock, which could make a starting backup fail
  /// as "lock held". /proc/locks lists the locks that processes have taken, with their pids.
  ///
  /// NOTE: assumes the run lock is an flock or POSIX lock on `[health] lock_file`, taken when the
  /// holding process started (as `flock -n FILE lifeboat …` does). Without a configured path the
  /// check is skipped as healthy.
  func checkLock() -> HealthCheckResult {
    guard let lockFile else {
      return HealthCheckResult(
        name: "lock", status: .healthy, reason: "no lock_file set in [health]; not checked")
    }
    var info = stat()
    guard stat(lockFile, &info) == 0 else {
      if errno == ENOENT {
        return HealthCheckResult(name: "lock", status: .healthy, reason: "\(lockFile) not present: no run in progress")
      }
      return HealthCheckResult(
        name: "lock", status: .degraded,
        reason: "\(lockFile) cannot be inspected: \(String(cString: strerror(errno)))")
    }
    guard let holder = HealthCheck.lockHolder(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)) else {
      return HealthCheckResult(name: "lock", status: .healthy, reason: "\(lockFile) is not held")
    }
    // The holder's start time, else the file's mtime, which a lock taken on an existing file
    // (flock(1), for one) does not change.
    let since = HealthCheck.processStartTime(holder)?.timeIntervalSince1970 ?? Double(info.st_mtim.tv_sec)
    let age = max(0, now.timeIntervalSince1970 - since)
    let held = "\(lockFile) is held by pid \(holder), running for \(formatDuration(age))"
    if age > maxAge {
      return HealthCheckResult(
        name: "lock", status: .degraded,
        reason: "\(held), longer than max_age \(formatDuration(maxAge)): a run may be hung")
    }
    return HealthCheckResult(name: "lock", status: .healthy, reason: "\(held): a run is in progress")
  }

  /// Returns the pid that holds a lock on the file (device, inode), from /proc/locks.
  static func lockHolder(device: UInt64, inode: UInt64) -> Int? {
    guard let bytes = readWholeFile("/proc/locks") else { return nil }
    // glibc's encoding of dev_t (gnu_dev_major and gnu_dev_minor).
    let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~UInt64(0xfff))
    let minor = (device & 0xff) | ((device >> 12) & ~UInt64(0xff))
    for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
      // `1: FLOCK  ADVISORY  WRITE 8582 fe:00:16220287 0 EOF`. Waiters carry `->` and hold nothing.
      let fields = line.split(separator: " ")
      guard fields.count >= 6, !fields.contains("->") else { continue }
      let place = fields[5].split(separator: ":")
      guard place.count == 3, UInt64(place[0], radix: 16) == major,
        UInt64(place[1], radix: 16) == minor, UInt64(place[2]) == inode
      else { continue }
      return Int(fields[4])
    }
    return nil
  }

  /// Returns when process `pid` started, from field 22 of /proc/PID/stat (clock ticks after boot)
  /// and `btime` in /proc/stat, or nil when either cannot be read.
  static func processStartTime(_ pid: Int) -> Date? {
    guard let statBytes = readWholeFile("/proc/\(pid)/stat"), let systemBytes = readWholeFile("/proc/stat")
    else { return nil }
    let stat = String(decoding: statBytes, as: UTF8.self)
    // Field 2, the command name in parentheses, may contain spaces: count fields after its end.
    guard let nameEnd = stat.lastIndex(of: ")") else { return nil }
    let fields = stat[stat.index(after: nameEnd)...].split(separator: " ")
    let bootLine = String(decoding: systemBytes, as: UTF8.self).split(separator: "\n")
      .first { $0.hasPrefix("btime ") }
    let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
    guard fields.count > 19, let ticks = Double(fields[19]), ticksPerSecond > 0,
      let boot = bootLine.flatMap({ Double($0.dropFirst("btime ".count)) })
    else { return nil }
    return Date(timeIntervalSince1970: boot + ticks / ticksPerSecond)
  }

  // MARK: Spool space

  /// Unhealthy when the database copies cannot fit in the spool directory, degraded below
  /// `minFreeSpace`.
  func checkSpoolSpace() -> HealthCheckResult {
    var info = statvfs()
    guard statvfs(spoolDirectory, &info) == 0 else {
      return HealthCheckResult(
        name: "spool_space", status: .unhealthy,
        reason: "spool directory \(spoolDirectory) cannot be used: \(String(cString: strerror(errno)))")
    }
    let free = Int64(info.f_bavail) * Int64(info.f_frsize)
    var needed: Int64 = 0
    for database in databases {
      for file in [database, database + "-wal"] {
        var fileInfo = stat()
        if stat(file, &fileInfo) == 0 { needed += Int64(fileInfo.st_size) }
      }
    }
    let has = "\(spoolDirectory) has \(formatBytes(free)) free"
    if free < needed {
      return HealthCheckResult(
        name: "spool_space", status: .unhealthy,
        reason: "\(has), less than the \(formatBytes(needed)) the database copies need")
    }
    if let minFreeSpace, free < minFreeSpace {
      return HealthCheckResult(
        name: "spool_space", status: .degraded,
        reason: "\(has), less than min_free_space \(formatBytes(minFreeSpace))")
    }
    return HealthCheckResult(name: "spool_space", status: .healthy, reason: has)
  }

  // MARK: Circuit breaker

  /// NOTE: a breaker's state lives in its process, so a fresh `lifeboat health` finds it closed
  /// unless the store keeps the state across runs.
  func checkBreaker(_ store: ObjectStore?) -> HealthCheckResult {
    guard let breaker = store?.layer(CircuitBreakerReporting.self) else {
      return HealthCheckResult(name: "breaker", status: .healthy, reason: "the store has no circuit breaker")
    }
    switch breaker.breakerState {
    case .closed:
      return HealthCheckResult(name: "breaker", status: .healthy, reason: "circuit breaker closed")
    case .halfOpen:
      return HealthCheckResult(name: "breaker", status: .degraded, reason: "circuit breaker half-open: probing the store")
    case .open:
      return HealthCheckResult(name: "breaker", status: .unhealthy, reason: "circuit breaker open: requests fail at once")
    }
  }
}

/// Formats seconds for people: `45s`, `12m`, `3h 12m`, `2d 4h`.
func formatDuration(_ seconds: Double) -> String {
  let total = Int(seconds.rounded(.down))
  let days = total / 86400
  let hours = total % 86400 / 3600
  let minutes = total % 3600 / 60
  // Under two days, hours read better: `26h`, not `1d 2h`.
  if days >= 2 { return hours > 0 ? "\(days)d \(hours)h" : "\(days)d" }
  if days > 0 { return minutes > 0 ? "\(total / 3600)h \(minutes)m" : "\(total / 3600)h" }
  if hours > 0 { return minutes > 0 ? "\(hours)h \(minutes)m" : "\(hours)h" }
  if minutes > 0 { return "\(minutes)m" }
  return "\(total)s"
}
