import Foundation

/// Cleanup work to run on every exit path, SIGINT and SIGTERM included, such as releasing the
/// repository lock. `TemporaryFiles` covers plain files; this registry covers everything else.
///
/// The signal handler runs the actions on a dispatch thread while the main thread may still be
/// working, then calls `_exit`, so an action must be safe to run concurrently with the code
/// that registered it.
public enum ExitActions {
  nonisolated(unsafe) private static var actions: [(token: Int, action: @Sendable () -> Void)] = []
  nonisolated(unsafe) private static var nextToken = 0
  nonisolated(unsafe) private static var note: String?
  private static let lock = NSLock()

  /// Adds `action` and returns the token that unregisters it.
  @discardableResult
  public static func register(_ action: @escaping @Sendable () -> Void) -> Int {
    lock.lock()
    defer { lock.unlock() }
    nextToken += 1
    actions.append((nextToken, action))
    return nextToken
  }

  public static func unregister(_ token: Int) {
    lock.lock()
    defer { lock.unlock() }
    actions.removeAll { $0.token == token }
  }

  /// A sentence the signal handler adds to its message, saying what the interrupted run left
  /// behind, such as "no backup was recorded by this run". Nil adds nothing.
  public static var interruptionNote: String? {
    get {
      lock.lock()
      defer { lock.unlock() }
      return note
    }
    set {
      lock.lock()
      defer { lock.unlock() }
      note = newValue
    }
  }

  /// Runs every registered action once, newest first, and removes them from the registry.
  public static func runAll() {
    lock.lock()
    let current = actions
    actions.removeAll()
    lock.unlock()
    for entry in current.reversed() { entry.action() }
  }
}
