import Foundation

/// An flock(2) lock on a file, shared by every lifeboat process on this machine that uses the
/// same lock directory. The kernel releases it when the process exits, even on SIGKILL.
///
/// The holder writes its `LockRecord` into the file so that a process that finds the lock taken
/// can name the holder.
public final class LocalLockFile {
  public let path: String
  private var fd: Int32

  /// The outcome of trying to take the lock.
  public enum Attempt {
    case acquired(LocalLockFile)
    /// Another process has the lock. The record is nil when the holder has not written it yet.
    case held(LockRecord?)
  }

  private init(path: String, fd: Int32) {
    self.path = path
    self.fd = fd
  }

  deinit { release() }

  /// Returns the default directory: `/run/lock/lifeboat`, or when that cannot be used (no
  /// `/run/lock`, not writable, not owned by this user), `lifeboat-<uid>-locks` under `$TMPDIR`
  /// or `/tmp`.
  public static func defaultDirectory(environment: [String: String]) -> String {
    let system = "/run/lock/lifeboat"
    if (try? prepareDirectory(system)) != nil { return system }
    let temporary = environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    return normalizeSlashes(temporary) + "/lifeboat-\(geteuid())-locks"
  }

  /// Returns the lock file of a repository, named from a hash of its store's location. The
  /// location is normalised, so `file:///srv/b` and `file:///srv/b/` share one file.
  public static func path(directory: String, location: String) -> String {
    let digest = SHA256Hasher.hash(Array(location.utf8)).hexString
    return "\(directory)/lifeboat-\(digest.prefix(24)).lock"
  }

  /// Tries to take the lock without waiting and, on success, writes `record` into the file.
  public static func acquire(path: String, record: LockRecord) throws -> Attempt {
    try prepareDirectory((path as NSString).deletingLastPathComponent)
    let fd = try openChecked(path, flags: O_RDWR | O_CREAT)
    guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
      let busy = errno == EWOULDBLOCK
      let failure = SystemError("flock", path: path)
      close(fd)
      guard busy else { throw failure }
      return .held(readRecord(path))
    }
    let lock = LocalLockFile(path: path, fd: fd)
    let bytes = try record.encoded()
    ftruncate(fd, 0)
    _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    return .acquired(lock)
  }

  /// Returns the holder's record when a live process holds the lock, or nil when it is free.
  /// Takes and drops the lock to find out; a missing file means free.
  public static func probe(path: String) throws -> Attempt? {
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    let fd = try openChecked(path, flags: O_RDONLY)
    defer { close(fd) }
    guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
      guard errno == EWOULDBLOCK else { throw SystemError("flock", path: path) }
      return .held(readRecord(path))
    }
    flock(fd, LOCK_UN)
    return nil
  }

  /// Drops the lock. The file stays: deleting it would let two processes lock two different
  /// files under the same name.
  public func release() {
    guard fd >= 0 else { return }
    close(fd)
    fd = -1
  }

  private static func readRecord(_ path: String) -> LockRecord? {
    readWholeFile(path, limit: 64 << 10).flatMap(LockRecord.decode)
  }

  /// Creates the directory (0700) when missing and checks that it is a real directory owned by
  /// this user that no other user can write, so another user cannot plant or hold its lock files.
  private static func prepareDirectory(_ directory: String) throws {
    if mkdir(directory, 0o700) != 0 && errno != EEXIST {
      throw LifeboatError(
        .configuration,
        "cannot create lock directory \(directory): \(String(cString: strerror(errno)))",
        hint: "create it, or set directory in [lock] to a directory this user can write")
    }
    var info = stat()
    guard lstat(directory, &info) == 0 else { throw SystemError("lstat", path: directory) }
    guard info.st_mode & S_IFMT == S_IFDIR, info.st_uid == geteuid(), info.st_mode & 0o022 == 0,
      access(directory, W_OK) == 0
    else {
      throw LifeboatError(
        .configuration,
        "lock directory \(directory) is not a directory owned and writable only by this user",
        hint: "remove it, or set directory in [lock] to a private directory")
    }
  }

  /// Opens a lock file without following symlinks and checks that it is a regular file of ours.
  private static func openChecked(_ path: String, flags: Int32) throws -> Int32 {
    let fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw SystemError("open lock file", path: path) }
    var info = stat()
    guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_uid == geteuid() else {
      close(fd)
      throw LifeboatError(
        .configuration, "lock file \(path) is not a regular file owned by this user",
        hint: "remove it and run again")
    }
    return fd
  }
}
