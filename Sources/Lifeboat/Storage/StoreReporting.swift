import Foundation

/// A store that sends one write as several part uploads (S3 multipart) and reports each one.
///
/// `CountingObjectStore` installs the observer when it wraps a stack that contains such a store,
/// so a store has one observer at most.
public protocol MultipartReporting: AnyObject {
  /// Called after each part upload request, on the thread that sent it, with the part's size in
  /// bytes.
  var partObserver: ((_ bytes: Int64) -> Void)? { get set }
}

/// A store that retries failed requests and counts the retries, for metrics.
public protocol RetryReporting: AnyObject {
  /// Requests sent again after a failed attempt, since the store was created.
  var retryCount: Int { get }
}

/// States of a circuit breaker in front of a store.
public enum CircuitBreakerState: String, Sendable {
  /// Requests pass.
  case closed
  /// A trial request passes to find out whether the store has recovered.
  case halfOpen = "half-open"
  /// Requests fail at once without reaching the store.
  case open
}

/// A store with a circuit breaker that reports its state, for `lifeboat health` and metrics.
public protocol CircuitBreakerReporting: AnyObject {
  var breakerState: CircuitBreakerState { get }
  /// Times the breaker went from closed or half-open to open, since the store was created.
  var breakerOpenings: Int { get }
}
