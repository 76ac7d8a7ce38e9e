import Foundation

/// Requests sent per HTTP verb, and how many of them were retries, for metrics.
///
/// Every attempt counts once, and calls the circuit breaker rejects count in
/// `rejectedByBreaker` instead. libcurl resends a request on its own, uncounted, when a
/// reused keep-alive connection turns out to be closed before any response. Thread-safe.
public final class S3RequestCounters: @unchecked Sendable {
  private let lock = NSLock()
  private var byMethod: [String: Int] = [:]
  private var retryCount = 0
  private var rejectedCount = 0

  public init() {}

  /// Requests sent, keyed by verb (`GET`, `PUT`, `POST`, `HEAD`, `DELETE`).
  public var requestsByMethod: [String: Int] {
    lock.lock()
    defer { lock.unlock() }
    return byMethod
  }

  /// Returns the requests sent with verb `method`.
  public func requests(_ method: String) -> Int {
    lock.lock()
    defer { lock.unlock() }
    return byMethod[method, default: 0]
  }

  public var totalRequests: Int {
    lock.lock()
    defer { lock.unlock() }
    return byMethod.values.reduce(0, +)
  }

  /// Attempts after the first one of a request.
  public var retries: Int {
    lock.lock()
    defer { lock.unlock() }
    return retryCount
  }

  /// Calls the open circuit breaker rejected without sending them.
  public var rejectedByBreaker: Int {
    lock.lock()
    defer { lock.unlock() }
    return rejectedCount
  }

  func recordRequest(method: String, isRetry: Bool) {
    lock.lock()
    byMethod[method, default: 0] += 1
    if isRetry { retryCount += 1 }
    lock.unlock()
  }

  func recordRejection() {
    lock.lock()
    rejectedCount += 1
    lock.unlock()
  }
}
