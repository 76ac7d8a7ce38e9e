import Foundation

/// Log levels of swift-log, in increasing severity.
public enum LogLevel: Int, Comparable, Sendable, CaseIterable {
  case trace, debug, info, notice, warning, error, critical

  public var name: String {
    switch self {
    case .trace: return "trace"
    case .debug: return "debug"
    case .info: return "info"
    case .notice: return "notice"
    case .warning: return "warning"
    case .error: return "error"
    case .critical: return "critical"
    }
  }

  public init?(name: String) {
    guard let level = LogLevel.allCases.first(where: { $0.name == name }) else { return nil }
    self = level
  }

  public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

public enum LogFormat: String, Sendable {
  /// `text` on a terminal, `json` otherwise.
  case auto
  case text
  case json
}

/// A value attached to a log line. Strings are passed through `Redaction` before output.
public enum LogValue: CustomStringConvertible, Sendable {
  case string(String)
  case int(Int64)
  case double(Double)
  case bool(Bool)

  public var description: String {
    switch self {
    case .string(let value): return value
    case .int(let value): return String(value)
    case .double(let value): return String(format: "%.3f", value)
    case .bool(let value): return value ? "true" : "false"
    }
  }
}

/// Structured logging to stderr (and optionally a file): human lines or one JSON object a line.
///
/// Thread-safe: the S3 client's worker threads log retries through the same logger.
public final class Logger: @unchecked Sendable {
  public var level: LogLevel
  public let format: LogFormat
  /// Fields added to every line, such as the backup id.
  /// Other threads (database copy, S3 part uploads) log while the main thread changes this,
  /// so it is read and written under the lock.
  public var context: [(String, LogValue)] {
    get {
      lock.lock()
      defer { lock.unlock() }
      return storedContext
    }
    set {
      lock.lock()
      storedContext = newValue
      lock.unlock()
    }
  }
  private var storedContext: [(String, LogValue)] = []
  /// Called before a line goes to the terminal, so a progress line can erase itself first.
  public var beforeTerminalLine: (() -> Void)?
  private let lock = NSLock()
  private let output: FileHandle
  private let file: RotatingLogFile?
  private let useJSON: Bool

  public init(
    level: LogLevel, format: LogFormat, output: FileHandle = .standardError,
    file: RotatingLogFile? = nil
  ) {
    self.level = level
    self.format = format
    self.output = output
    self.file = file
    switch format {
    case .json: useJSON = true
    case .text: useJSON = false
    case .auto: useJSON = isatty(output.fileDescriptor) == 0
    }
  }

  /// Returns a logger that writes nothing, for library callers and tests.
  public static func disabled() -> Logger {
    Logger(level: .critical, format: .text, output: FileHandle(forWritingAtPath: "/dev/null")!)
  }

  public func trace(_ message: String, _ fields: [(String, LogValue)] = []) {
    log(.trace, message, fields)
  }
  public func debug(_ message: String, _ fields: [(String, LogValue)] = []) {
    log(.debug, message, fields)
  }
  public func info(_ message: String, _ fields: [(String, LogValue)] = []) {
    log(.info, message, fields)
  }
  public func notice(_ message: String, _ fields: [(String, LogValue)] = []) {
    log(.notice, message, fields)
  }
  public func warning(_ message: String, _ fields: [(String, LogValue)] = []) {
    log(.warning, message, fields)
  }
  public func error(_ message: String, _ fields: [(String, LogValue)] = []) {
    log(.error, message, fields)
  }
  public func critical(_ message: String, _ fields: [(String, LogValue)] = []) {
    log(.critical, message, fields)
  }

  /// Writes a line to the terminal (if `lineLevel` passes) and to the log file.
  /// `fileOnly` skips the terminal, for a line the caller has already shown in another form.
  public func log(
    _ lineLevel: LogLevel, _ message: String, _ fields: [(String, LogValue)], fileOnly: Bool = false
  ) {
    let toTerminal = lineLevel >= level && !fileOnly
    // The log file records everything from info up, whatever the terminal shows.
    let toFile = file != nil && lineLevel >= min(level, .info)
    guard toTerminal || toFile else { return }
    let now = Date()
    let allFields = context + fields
    let jsonLine = renderJSON(lineLevel, message, allFields, now)

    lock.lock()
    defer { lock.unlock() }
    if toTerminal {
      beforeTerminalLine?()
      let line = useJSON ? jsonLine : renderText(lineLevel, message, allFields)
      output.write(Data((line + "\n").utf8))
    }
    if toFile { file?.append(jsonLine + "\n") }
  }

  private func renderText(_ level: LogLevel, _ message: String, _ fields: [(String, LogValue)])
    -> String
  {
    var line = "\(level.name): \(Redaction.redact(message))"
    for (key, value) in fields {
      let text = Redaction.redact(value.description)
      let quoted = text.contains(" ") || text.isEmpty ? "\"\(text)\"" : text
      line += " \(key)=\(quoted)"
    }
    return line
  }

  private func renderJSON(
    _ level: LogLevel, _ message: String, _ fields: [(String, LogValue)], _ date: Date
  ) -> String {
    var object = "{\"ts\":\(JSONText.quote(Timestamp.iso8601Milliseconds(date)))"
    object += ",\"level\":\(JSONText.quote(level.name))"
    object += ",\"msg\":\(JSONText.quote(Redaction.redact(message)))"
    for (key, value) in fields {
      object += ",\(JSONText.quote(key)):"
      switch value {
      case .string(let text): object += JSONText.quote(Redaction.redact(text))
      case .int(let number): object += String(number)
      case .double(let number): object += number.isFinite ? String(number) : "null"
      case .bool(let flag): object += flag ? "true" : "false"
      }
    }
    return object + "}"
  }
}

/// A log file that is renamed to `NAME.1` (keeping `count` old files) when it passes `maxBytes`.
public final class RotatingLogFile: @unchecked Sendable {
  public let path: String
  public let maxBytes: Int64
  public let count: Int
  private var handle: FileHandle?
  private var size: Int64 = 0

  public init(path: String, maxBytes: Int64 = 10 << 20, count: Int = 5) throws {
    self.path = path
    self.maxBytes = maxBytes
    self.count = count
    try open()
  }

  private func open() throws {
    let fd = Foundation.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw SystemError("open log file", path: path) }
    handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    var info = stat()
    size = fstat(fd, &info) == 0 ? Int64(info.st_size) : 0
  }

  func append(_ line: String) {
    let data = Data(line.utf8)
    if size + Int64(data.count) > maxBytes && size > 0 { rotate() }
    handle?.write(data)
    size += Int64(data.count)
  }

  private func rotate() {
    handle = nil
    for index in stride(from: count - 1, through: 1, by: -1) {
      rename("\(path).\(index)", "\(path).\(index + 1)")
    }
    rename(path, "\(path).1")
    try? open()
  }
}

/// Removes secrets from text before it is logged or shown.
public enum Redaction {
  /// Query parameters and `key=value` words whose values are secrets.
  private static let secretNames = [
    "X-Amz-Signature", "X-Amz-Security-Token", "X-Amz-Credential", "Signature",
    "secret_access_key", "aws_secret_access_key", "session_token", "aws_session_token",
    "password", "token",
  ]

  /// Secret values registered at run time (the configured credentials), replaced wherever they
  /// appear.
  nonisolated(unsafe) private static var knownSecrets: [String] = []
  private static let lock = NSLock()

  public static func register(secret: String) {
    guard secret.count >= 4 else { return }
    lock.lock()
    defer { lock.unlock() }
    if !knownSecrets.contains(secret) { knownSecrets.append(secret) }
  }

  public static func redact(_ text: String) -> String {
    var result = text
    lock.lock()
    let secrets = knownSecrets
    lock.unlock()
    for secret in secrets where result.contains(secret) {
      result = result.replacingOccurrences(of: secret, with: "<redacted>")
    }
    // user:password@ in URLs.
    if result.contains("@"), result.contains("://") {
      result = result.replacingOccurrences(
        of: "://([^/@\\s:]+):([^/@\\s]+)@", with: "://$1:<redacted>@", options: .regularExpression)
    }
    for name in secretNames where result.range(of: name, options: .caseInsensitive) != nil {
      result = result.replacingOccurrences(
        of: "(\(name)=)[^&\\s\"]+", with: "$1<redacted>",
        options: [.regularExpression, .caseInsensitive])
    }
    if result.range(of: "AWS4-HMAC-SHA256", options: .caseInsensitive) != nil {
      result = result.replacingOccurrences(
        of: "(Signature=)[0-9a-f]+", with: "$1<redacted>", options: .regularExpression)
    }
    return result
  }
}
