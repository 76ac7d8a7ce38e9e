import Foundation

/// Remembers when each alert was last sent, in `alert-state.json` in a state directory, so that
/// repeated failures send one alert per `min_interval`.
///
/// The file stays locked (flock) from `open` to `close`, so two runs that fail together cannot
/// both decide to send.
final class AlertRateLimiter {
  static let fileName = "alert-state.json"
  let path: String
  private var fd: Int32 = -1
  private var sent: [String: Double]
  private let minInterval: Double

  /// Opens and locks the state file in `directory`, creating both when missing.
  ///
  /// - Throws: `LifeboatError` when the directory cannot be created or is not safe to use
  ///   (not a directory, or owned by another user), or `SystemError` for the file itself.
  init(directory: String, minInterval: Double) throws {
    try AlertRateLimiter.prepare(directory)
    let path = directory + "/" + AlertRateLimiter.fileName
    let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
    guard descriptor >= 0 else { throw SystemError("open", path: path) }
    guard flock(descriptor, LOCK_EX) == 0 else {
      let error = SystemError("flock", path: path)
      Foundation.close(descriptor)
      throw error
    }

    var content: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
      let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      if count <= 0 { break }
      content.append(contentsOf: buffer[0..<count])
    }
    // A damaged or empty file reads as no earlier alerts, which at worst sends one alert too many.
    let object = try? JSONSerialization.jsonObject(with: Data(content))
    self.sent = (object as? [String: Any])?.compactMapValues { ($0 as? NSNumber)?.doubleValue } ?? [:]
    self.path = path
    self.fd = descriptor
    self.minInterval = minInterval
  }

  deinit { close() }

  /// Returns the state directory to use when none is configured: /var/lib/lifeboat when it exists
  /// or can be created, else `lifeboat-<uid>` under $TMPDIR (or /tmp).
  static func defaultDirectory(environment: [String: String]) -> String {
    let system = "/var/lib/lifeboat"
    if (try? prepare(system)) != nil, access(system, W_OK) == 0 { return system }
    let temporary = environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    return "\(temporary)/lifeboat-\(getuid())"
  }

  /// Creates `directory` (0700) when missing and checks that it is a directory of this user, not
  /// a symlink someone else placed in a shared temporary directory.
  static func prepare(_ directory: String) throws {
    if mkdir(directory, 0o700) != 0 && errno != EEXIST {
      throw LifeboatError(
        .configuration,
        "alert state directory \(directory) cannot be created: \(String(cString: strerror(errno)))",
        hint: "set state_dir in [alert] to a writable directory")
    }
    var info = stat()
    guard lstat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == getuid()
    else {
      throw LifeboatError(
        .configuration, "alert state directory \(directory) is not a directory owned by this user",
        hint: "set state_dir in [alert] to a directory that only this user can write")
    }
  }

  /// Returns when the alert `key` was last sent, if that is less than `min_interval` before `now`.
  func recentlySent(_ key: String, now: Date) -> Date? {
    guard let time = sent[key] else { return nil }
    let elapsed = now.timeIntervalSince1970 - time
    // A time in the future (clock stepped back) is treated as recent rather than ignored.
    return elapsed < minInterval ? Date(timeIntervalSince1970: time) : nil
  }

  /// Records that the alert `key` was sent at `now` and saves the file.
  func record(_ key: String, now: Date) throws {
    sent[key] = now.timeIntervalSince1970
    let data = try JSONSerialization.data(withJSONObject: sent, options: [.sortedKeys])
    guard ftruncate(fd, 0) == 0 else { throw SystemError("ftruncate", path: path) }
    let written = data.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    guard written == data.count, fsync(fd) == 0 else { throw SystemError("write", path: path) }
  }

  /// Releases the lock. Called by `deinit` if not before.
  func close() {
    guard fd >= 0 else { return }
    Foundation.close(fd)
    fd = -1
  }
}
