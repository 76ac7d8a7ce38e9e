import Foundation

/// The holder of a repository lock, stored as the lock object and in the local lock file.
public struct LockRecord: Codable, Sendable, Equatable {
  public var host: String
  public var pid: Int32
  /// The lifeboat command that holds the lock, such as `backup` or `prune`.
  public var command: String
  public var startedAt: String
  /// Rewritten by the holder while it runs; a lock not refreshed for `stale_after` is stale.
  public var refreshedAt: String
  /// A random value that distinguishes this run's lock object from one another run wrote.
  public var token: String
  public var lifeboatVersion: String

  enum CodingKeys: String, CodingKey {
    case host, pid, command, token
    case startedAt = "started_at"
    case refreshedAt = "refreshed_at"
    case lifeboatVersion = "lifeboat_version"
  }

  /// Creates the record of a lock taken now by this process.
  public static func current(command: String, now: Date = Date()) -> LockRecord {
    let stamp = Timestamp.iso8601Milliseconds(now)
    let token = (0..<4).map { _ in String(format: "%08x", UInt32.random(in: 0...UInt32.max)) }.joined()
    return LockRecord(
      host: localHostName(), pid: getpid(), command: command, startedAt: stamp,
      refreshedAt: stamp, token: token, lifeboatVersion: LifeboatVersion.current)
  }

  public func encoded() throws -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    return [UInt8](try encoder.encode(self)) + [UInt8(ascii: "\n")]
  }

  /// Decodes a record, or returns nil when the bytes are not one (an empty or torn file).
  public static func decode(_ bytes: [UInt8]) -> LockRecord? {
    try? JSONDecoder().decode(LockRecord.self, from: Data(bytes))
  }

  public var refreshTime: Date? { Timestamp.parseISO8601(refreshedAt) }

  public var isOnThisHost: Bool { host == localHostName() }

  /// True when this record names a process that exists on this machine. A record from another
  /// host returns false, since its PID means nothing here.
  public var isLocalProcessAlive: Bool {
    guard isOnThisHost, pid > 0 else { return false }
    return kill(pid, 0) == 0 || errno == EPERM
  }

  /// The holder for messages: `'lifeboat backup' (PID 4242 on host web1) since 2026-12-04T03:15:00Z`.
  public var holderDescription: String {
    let since = startedAt.replacingOccurrences(of: #"\.\d+Z$"#, with: "Z", options: .regularExpression)
    return "'lifeboat \(command)' (PID \(pid) on host \(host)) since \(since)"
  }
}

/// Returns the machine's host name from gethostname(2), which needs no name service.
func localHostName() -> String {
  var buffer = [CChar](repeating: 0, count: 256)
  guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
  return String(cString: buffer)
}
