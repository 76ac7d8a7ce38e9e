import Foundation

/// An operator-facing failure: what failed, on which value, and what to do next.
///
/// Modules throw their own error types; the command boundary turns every error into a
/// `LifeboatError` so that it prints as `error: …` / `hint: …` and maps to one exit status.
public struct LifeboatError: Error, CustomStringConvertible {
  /// A stable category that decides the process exit status.
  public enum Code: Int32, Sendable {
    case failure = 1
    /// Finished, but some sources were skipped or changed while read.
    case partial = 2
    /// A restore failed and its rollback failed too: the operator must act.
    case rollbackFailed = 3
    case usage = 64
    /// A checksum, manifest or database integrity check failed.
    case dataError = 65
    /// Storage unreachable, bucket missing, or circuit breaker open.
    case unavailable = 69
    /// The lock is held by another run: try again later.
    case temporaryFailure = 75
    /// The storage rejected the credentials.
    case permissionDenied = 77
    /// The configuration file or environment is invalid.
    case configuration = 78
    case interrupted = 130
  }

  public var code: Code
  public var message: String
  public var hint: String?
  public var cause: (any Error)?

  public init(_ code: Code, _ message: String, hint: String? = nil, cause: (any Error)? = nil) {
    self.code = code
    self.message = message
    self.hint = hint
    self.cause = cause
  }

  public var description: String {
    var text = message
    if let cause { text += " (\(cause))" }
    return text
  }
}

/// A failed POSIX call, with the `errno` it left and the path it acted on.
public struct SystemError: Error, CustomStringConvertible {
  public var operation: String
  public var path: String?
  public var errno: Int32

  public init(_ operation: String, path: String? = nil, errno: Int32 = Foundation.errno) {
    self.operation = operation
    self.path = path
    self.errno = errno
  }

  public var description: String {
    let reason = String(cString: strerror(errno))
    if let path { return "\(operation) \(path): \(reason)" }
    return "\(operation): \(reason)"
  }
}
