import Foundation

/// A circuit breaker that stops calls to a failing service for a cool-down period.
///
/// Closed, it lets every call through and counts consecutive failures. At `threshold`
/// failures it opens and rejects calls until `coolDown` has passed. Then it lets exactly one
/// probe through (half-open): a successful probe closes it, a failed one opens it again.
/// Thread-safe.
public final class CircuitBreaker: @unchecked Sendable {
  public enum State: Equatable, Sendable, CustomStringConvertible {
    case closed
    case open(until: Date)
    case halfOpen

    public var description: String {
      switch self {
      case .closed: return "closed"
      case .open: return "open"
      case .halfOpen: return "half-open"
      }
    }
  }

  /// The error of a call rejected while the breaker is open.
  public struct OpenError: Error, CustomStringConvertible {
    public var consecutiveFailures: Int
    /// Seconds until the next probe is let through.
    public var retryAfter: TimeInterval

    public var description: String {
      let seconds = String(format: "%.0f", max(retryAfter, 0).rounded(.up))
      return "circuit breaker open after \(consecutiveFailures) consecutive failures; "
        + "next attempt allowed in \(seconds) s"
    }
  }

  public let threshold: Int
  public let coolDown: TimeInterval
  private let clock: () -> Date
  private let onStateChange: (String) -> Void
  private let lock = NSLock()
  private var currentState: State = .closed
  private var consecutiveFailures = 0
  private var probeStarted: Date?
  private var openCount = 0

  /// Times the breaker opened since it was created.
  public var openings: Int {
    lock.lock()
    defer { lock.unlock() }
    return openCount
  }

  /// Creates a closed breaker.
  ///
  /// - Parameters:
  ///   - threshold: consecutive failures that open the breaker (at least 1).
  ///   - coolDown: seconds the breaker stays open before letting a probe through.
  ///   - clock: the current time, injectable for tests.
  ///   - onStateChange: receives one line for every state change, for the log.
  public init(
    threshold: Int, coolDown: TimeInterval, clock: @escaping () -> Date = Date.init,
    onStateChange: @escaping (String) -> Void = { _ in }
  ) {
    self.threshold = max(1, threshold)
    self.coolDown = max(0, coolDown)
    self.clock = clock
    self.onStateChange = onStateChange
  }

  public var state: State {
    lock.lock()
    defer { lock.unlock() }
    return currentState
  }

  /// Lets a call through or throws `OpenError`.
  ///
  /// Every call that gets through must end with `recordSuccess()` or `recordFailure()`.
  /// A probe that never reports is replaced by a new probe after another cool-down.
  public func acquire() throws {
    var message: String?
    lock.lock()
    defer {
      lock.unlock()
      if let message { onStateChange(message) }
    }
    let now = clock()
    switch currentState {
    case .closed:
      return
    case .open(let until):
      if now < until {
        throw OpenError(
          consecutiveFailures: consecutiveFailures, retryAfter: until.timeIntervalSince(now))
      }
      currentState = .halfOpen
      probeStarted = now
      message = "circuit breaker half-open: letting one probe request through"
    case .halfOpen:
      if let started = probeStarted, now.timeIntervalSince(started) < coolDown {
        throw OpenError(
          consecutiveFailures: consecutiveFailures,
          retryAfter: started.addingTimeInterval(coolDown).timeIntervalSince(now))
      }
      probeStarted = now
    }
  }

  /// Records a call that reached a healthy service.
  public func recordSuccess() {
    var message: String?
    lock.lock()
    defer {
      lock.unlock()
      if let message { onStateChange(message) }
    }
    switch currentState {
    case .closed:
      consecutiveFailures = 0
    case .halfOpen:
      consecutiveFailures = 0
      probeStarted = nil
      currentState = .closed
      message = "circuit breaker closed: probe request succeeded"
    case .open:
      // A call that started before the breaker opened proves little, so the probe decides.
      break
    }
  }

  /// Records a call that failed because of the service (timeout, reset, 5xx, throttling).
  public func recordFailure() {
    var message: String?
    lock.lock()
    defer {
      lock.unlock()
      if let message { onStateChange(message) }
    }
    consecutiveFailures += 1
    let now = clock()
    switch currentState {
    case .closed:
      if consecutiveFailures >= threshold {
        openCount += 1
        currentState = .open(until: now.addingTimeInterval(coolDown))
        message =
          "circuit breaker opened after \(consecutiveFailures) consecutive failures; "
          + "rejecting requests for \(Self.format(coolDown)) s"
      }
    case .halfOpen:
      probeStarted = nil
      openCount += 1
      currentState = .open(until: now.addingTimeInterval(coolDown))
      message =
        "circuit breaker opened again: probe request failed; "
        + "rejecting requests for \(Self.format(coolDown)) s"
    case .open:
      break
    }
  }

  private static func format(_ seconds: TimeInterval) -> String {
    seconds == seconds.rounded() ? String(Int(seconds)) : String(format: "%.1f", seconds)
  }
}
