import Foundation

/// Exponential backoff with full jitter, bounded by a maximum delay.
///
/// The delay after attempt `n` is uniform in `0 ..< min(maxDelay, baseDelay * 2^(n-1))`, so
/// clients that failed together spread out instead of retrying in step. A server's
/// `Retry-After` is a lower bound, capped at `maxDelay` so that one response cannot stall a backup.
public struct S3RetryPolicy: Sendable {
  /// Attempts per request, the first one included.
  public var maxAttempts: Int
  public var baseDelay: TimeInterval
  public var maxDelay: TimeInterval

  public init(maxAttempts: Int, baseDelay: TimeInterval, maxDelay: TimeInterval) {
    self.maxAttempts = max(1, maxAttempts)
    self.baseDelay = max(0, baseDelay)
    self.maxDelay = max(0, maxDelay)
  }

  /// Returns the upper bound of the jittered delay after the `attempt`-th attempt (from 1).
  public func ceiling(afterAttempt attempt: Int) -> TimeInterval {
    let exponent = Double(min(max(attempt - 1, 0), 62))
    return min(maxDelay, baseDelay * pow(2, exponent))
  }

  /// Returns the seconds to wait after the `attempt`-th attempt (from 1) failed.
  ///
  /// - Parameters:
  ///   - retryAfter: the server's `Retry-After`, if it sent one.
  ///   - random: a value in `0 ..< 1`, injectable for tests.
  public func delay(
    afterAttempt attempt: Int, retryAfter: TimeInterval? = nil,
    random: () -> Double = { Double.random(in: 0..<1) }
  ) -> TimeInterval {
    let jittered = ceiling(afterAttempt: attempt) * min(max(random(), 0), 1)
    guard let retryAfter, retryAfter > 0 else { return jittered }
    return max(jittered, min(retryAfter, maxDelay))
  }

  /// Parses a `Retry-After` value: delay seconds or an HTTP date (RFC 9110).
  public static func parseRetryAfter(_ value: String, now: Date) -> TimeInterval? {
    let trimmed = value.trimmingCharacters(in: .whitespaces)
    if let seconds = Int(trimmed) { return TimeInterval(max(seconds, 0)) }
    guard let date = HTTPDate.parse(trimmed) else { return nil }
    return max(date.timeIntervalSince(now), 0)
  }
}

/// The IMF-fixdate format of HTTP `Date` and `Retry-After` headers.
enum HTTPDate {
  private static let formatter: DateFormatter = {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "GMT")
    formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
    return formatter
  }()
  private static let lock = NSLock()

  static func parse(_ value: String) -> Date? {
    lock.lock()
    defer { lock.unlock() }
    return formatter.date(from: value)
  }
}
