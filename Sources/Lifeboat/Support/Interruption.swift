import Foundation

/// Signals received while a procedure must not stop halfway, such as an in-place restore that
/// has moved the live files aside.
///
/// The command's signal handler calls `record(_:)` first. While a deferring section runs, the
/// signal is only recorded, and the procedure checks `pending` between steps so that it can
/// roll back before it exits.
public enum Interruption {
  nonisolated(unsafe) private static var deferring = 0
  nonisolated(unsafe) private static var signal: Int32?
  private static let lock = NSLock()

  /// The first signal received in a deferring section, if any.
  public static var pending: Int32? {
    lock.lock()
    defer { lock.unlock() }
    return signal
  }

  /// Runs `body` with signals deferred. Nested calls are allowed.
  public static func deferSignals<T>(_ body: () throws -> T) rethrows -> T {
    lock.lock()
    deferring += 1
    lock.unlock()
    defer {
      lock.lock()
      deferring -= 1
      lock.unlock()
    }
    return try body()
  }

  /// Records `number` and returns true when a deferring section runs, so the handler must not
  /// exit. Returns false otherwise.
  public static func record(_ number: Int32) -> Bool {
    lock.lock()
    defer { lock.unlock() }
    guard deferring > 0 else { return false }
    if signal == nil { signal = number }
    return true
  }
}

/// The error a step fails with when a signal arrived during it.
public struct InterruptedError: Error, CustomStringConvertible {
  public var signal: Int32
  public var description: String { "interrupted by signal \(signal)" }
}
