import CSQLite
import Foundation

/// Facts about a database copy, recorded in the manifest.
public struct DatabaseInfo: Codable, Sendable, Equatable {
  public var pageSize: Int64
  public var pageCount: Int64
  public var schemaVersion: Int64
  public var userVersion: Int64
  public var journalMode: String

  enum CodingKeys: String, CodingKey {
    case pageSize = "page_size"
    case pageCount = "page_count"
    case schemaVersion = "schema_version"
    case userVersion = "user_version"
    case journalMode = "journal_mode"
  }
}

/// Copies a live SQLite database with the online backup API into a private temporary file.
///
/// The copy is taken in one `sqlite3_backup_step(-1)` call, which keeps a read transaction open
/// for its duration. In WAL mode that never blocks the application's writers, and the copy
/// includes commits still in the `-wal` file. In rollback-journal mode writers wait for the
/// copy (their busy timeout) instead of forcing it to restart, which an incremental copy under
/// constant writes would do without end.
public enum SQLiteSnapshot {
  /// Copies `source` to a new file in `spoolDirectory`, checks it with `PRAGMA quick_check`
  /// and returns its path and facts. The caller deletes the copy.
  ///
  /// - Parameter busyTimeout: seconds to keep retrying while the application holds a lock
  ///   that blocks the copy.
  public static func copy(
    source: String, spoolDirectory: String, busyTimeout: Double, logger: Logger
  ) throws -> (path: String, info: DatabaseInfo) {
    try checkReadable(source)

    let destination = try makeSpoolFile(in: spoolDirectory, name: (source as NSString).lastPathComponent)
    do {
      let info = try copy(source: source, destination: destination, busyTimeout: busyTimeout, logger: logger)
      return (destination, info)
    } catch {
      removeDatabaseFiles(destination)
      throw error
    }
  }

  private static func copy(
    source: String, destination: String, busyTimeout: Double, logger: Logger
  ) throws -> DatabaseInfo {
    let sourceDatabase: SQLiteDatabase
    do {
      sourceDatabase = try SQLiteDatabase(path: source, readOnly: true)
    } catch let error as SQLiteError {
      throw describe(error, source: source)
    }
    sourceDatabase.setBusyTimeout(milliseconds: Int32(min(busyTimeout * 1000, 2_000_000_000)))
    // Reading the schema first surfaces "not a database" and encryption before the copy.
    do {
      _ = try sourceDatabase.query("SELECT count(*) FROM sqlite_schema")
    } catch let error as SQLiteError {
      throw describe(error, source: source, busyTimeout: busyTimeout)
    }

    let destinationDatabase = try SQLiteDatabase(path: destination, readOnly: false, create: true)
    guard let backup = sqlite3_backup_init(destinationDatabase.handle, "main", sourceDatabase.handle, "main")
    else {
      throw LifeboatError(
        .failure, "cannot start the online backup of database \(source): \(destinationDatabase.error(sqlite3_errcode(destinationDatabase.handle)).message)")
    }

    let deadline = Date().addingTimeInterval(busyTimeout)
    var waitedForLock = false
    var status: Int32
    while true {
      status = sqlite3_backup_step(backup, -1)
      if status == SQLITE_DONE { break }
      if status & 0xff == SQLITE_BUSY || status & 0xff == SQLITE_LOCKED {
        if Date() >= deadline { break }
        if !waitedForLock {
          logger.info("database is locked by another connection; waiting", [
            ("database", .string(source)), ("busy_timeout_s", .double(busyTimeout)),
          ])
          waitedForLock = true
        }
        usleep(50_000)
        continue
      }
      if status == SQLITE_OK { continue }
      break
    }
    sqlite3_backup_finish(backup)
    guard status == SQLITE_DONE else {
      let error = SQLiteError(path: source, code: status, message: String(cString: sqlite3_errstr(status)))
      throw describe(error, source: source, busyTimeout: busyTimeout)
    }

    let problems = try destinationDatabase.check(thorough: false)
    guard problems.isEmpty else {
      throw LifeboatError(
        .dataError,
        "the copy of database \(source) failed PRAGMA quick_check: \(problems.prefix(3).joined(separator: "; "))",
        hint: "run PRAGMA integrity_check on the application's database; it may be corrupt")
    }
    return DatabaseInfo(
      pageSize: try destinationDatabase.integer("PRAGMA page_size"),
      pageCount: try destinationDatabase.integer("PRAGMA page_count"),
      schemaVersion: try destinationDatabase.integer("PRAGMA schema_version"),
      userVersion: try destinationDatabase.integer("PRAGMA user_version"),
      journalMode: try sourceDatabase.query("PRAGMA journal_mode").first?.first??.lowercased() ?? "unknown")
  }

  /// Opens the database and reads its schema without waiting for locks, so a wrong path, a
  /// file that is not a database or an encrypted one fails before anything is written.
  /// A database that is merely locked passes: the copy itself waits for the lock.
  public static func preflight(_ source: String) throws {
    try checkReadable(source)
    do {
      let database = try SQLiteDatabase(path: source, readOnly: true)
      _ = try database.query("SELECT count(*) FROM sqlite_schema")
    } catch let error as SQLiteError {
      if !error.isBusy { throw describe(error, source: source) }
    }
  }

  private static func checkReadable(_ source: String) throws {
    var info = stat()
    guard stat(source, &info) == 0 else {
      let reason = errno == ENOENT ? "not found" : String(cString: strerror(errno))
      throw LifeboatError(
        .failure, "database \(source) \(reason)",
        hint: "check the database path in the configuration (--db or [source] database)")
    }
    guard info.st_mode & S_IFMT == S_IFREG else {
      throw LifeboatError(.failure, "database \(source) is not a regular file")
    }
    guard access(source, R_OK) == 0 else {
      throw LifeboatError(
        .failure, "database \(source) cannot be read: permission denied",
        hint: "run lifeboat as a user that can read the database")
    }
  }

  private static func describe(_ error: SQLiteError, source: String, busyTimeout: Double = 0)
    -> LifeboatError
  {
    if error.isNotADatabase {
      return LifeboatError(
        .failure, "\(source) is not a SQLite database, or it is encrypted",
        hint: "check the database path; encrypted databases (SQLCipher) are not supported")
    }
    if error.isBusy {
      return LifeboatError(
        .temporaryFailure,
        "database \(source) stayed locked by another connection for \(Int(busyTimeout)) s",
        hint: "a long write transaction holds the lock; retry later or raise busy_timeout in [backup]")
    }
    if error.isCorrupt {
      return LifeboatError(
        .dataError, "database \(source) is corrupt: \(error.message)",
        hint: "restore it from an earlier backup")
    }
    return LifeboatError(.failure, "cannot read database \(source): \(error.message)")
  }

  /// Creates an empty file readable only by its owner, so the copy of the data is never
  /// exposed to other users even for a moment.
  static func makeSpoolFile(in directory: String, name: String) throws -> String {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue
    else {
      throw LifeboatError(
        .failure, "spool directory \(directory) not found",
        hint: "create it or choose another with --spool-dir")
    }
    for _ in 0..<100 {
      let path = "\(directory)/lifeboat-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(name)"
      let fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
      if fd >= 0 {
        close(fd)
        TemporaryFiles.register(path)
        return path
      }
      if errno != EEXIST {
        throw LifeboatError(
          .failure, "cannot create a temporary file in spool directory \(directory): \(String(cString: strerror(errno)))",
          hint: "choose a writable directory with --spool-dir")
      }
    }
    throw LifeboatError(.failure, "cannot create a unique temporary file in \(directory)")
  }

  /// Deletes database copies that runs killed with SIGKILL left in `directory`: files named
  /// `lifeboat-PID-…` whose process is gone and that are older than ten minutes. Returns their
  /// names. A copy of a live run, on this host, is never touched.
  @discardableResult
  public static func removeStaleSpoolFiles(in directory: String) -> [String] {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
    var removed: [String] = []
    let cutoff = Date().addingTimeInterval(-600).timeIntervalSince1970
    for name in names where name.hasPrefix("lifeboat-") {
      let parts = name.split(separator: "-", maxSplits: 3)
      guard parts.count == 4, let pid = Int32(parts[1]), Int(parts[2]) != nil, pid > 0 else { continue }
      guard kill(pid, 0) != 0 && errno == ESRCH else { continue }
      var info = stat()
      let path = directory + "/" + name
      guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_uid == geteuid(),
        Double(info.st_mtim.tv_sec) < cutoff
      else { continue }
      if unlink(path) == 0 { removed.append(name) }
    }
    return removed
  }

  /// Deletes a database file and any journal files SQLite left beside it.
  public static func removeDatabaseFiles(_ path: String) {
    for suffix in ["", "-wal", "-shm", "-journal"] { unlink(path + suffix) }
    TemporaryFiles.unregister(path)
  }
}

/// Temporary files to delete on every exit path, signals included.
public enum TemporaryFiles {
  nonisolated(unsafe) private static var paths: Set<String> = []
  nonisolated(unsafe) private static var directories: Set<String> = []
  private static let lock = NSLock()

  /// Registers a staging directory to delete, with its contents, on every exit path.
  public static func registerDirectory(_ path: String) {
    lock.lock()
    directories.insert(path)
    lock.unlock()
  }

  public static func unregisterDirectory(_ path: String) {
    lock.lock()
    directories.remove(path)
    lock.unlock()
  }

  public static func register(_ path: String) {
    lock.lock()
    paths.insert(path)
    lock.unlock()
  }

  public static func unregister(_ path: String) {
    lock.lock()
    paths.remove(path)
    lock.unlock()
  }

  /// Deletes every registered file. Called at exit and from the signal handler's thread.
  public static func removeAll() {
    lock.lock()
    let current = paths
    let trees = directories
    paths.removeAll()
    directories.removeAll()
    lock.unlock()
    for tree in trees { removeTree(tree) }
    for path in current {
      for suffix in ["", "-wal", "-shm", "-journal"] { unlink(path + suffix) }
    }
  }
}
