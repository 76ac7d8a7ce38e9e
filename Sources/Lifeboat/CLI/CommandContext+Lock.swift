import Foundation

extension CommandContext {
  /// Reads the lock settings of `[lock]` for a run of `command`.
  func lockOptions(command: String) throws -> RunLock.Options {
    let configuration = try configuration()
    let staleAfter = try configuration.duration("lock.stale_after") ?? RunLock.defaultStaleAfter
    // The holder refreshes every quarter of stale_after; below a second that is a busy loop.
    guard staleAfter >= 1 else {
      throw LifeboatError(
        .configuration,
        "\(configuration.origin("lock.stale_after")!): stale_after in [lock] must be at least 1s",
        hint: "the default is 1h; keep it well above the time a storage request may take")
    }
    let directory = configuration.string("lock.directory").map { absolutePath($0) }
      ?? LocalLockFile.defaultDirectory(environment: environment)
    return RunLock.Options(command: command, staleAfter: staleAfter, directory: directory)
  }

  /// Takes the repository lock for `command`, or fails with exit status 75 naming the holder.
  func lock(_ repository: Repository, command: String) throws -> RunLock {
    try RunLock.acquire(
      store: repository.store, options: try lockOptions(command: command), logger: logger)
  }
}
