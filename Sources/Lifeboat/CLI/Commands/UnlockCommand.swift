import Foundation

extension Command {
  static let unlock = Command(
    name: "unlock",
    summary: "Remove the repository lock left by a run that is gone.",
    usage: "lifeboat unlock [--force] [--repo URL] [options]",
    options: [
      OptionSpec("force", help: "remove the lock even when it looks live")
    ] + CommonOptions.repository + CommonOptions.logging,
    maxPositionals: 0,
    examples: [
      "lifeboat unlock --repo file:///srv/backups",
      "lifeboat unlock --force --config /etc/lifeboat/lifeboat.conf",
    ],
    details: """
      backup and prune hold a lock object (locks/lock.json) in the repository and refresh it
      while they run. A lock is live when it was refreshed within stale_after of [lock]
      (default 1h), when its process is still running on this host, or when a lifeboat process
      on this host holds the local lock file. unlock removes a stale lock, and a live one only
      with --force: removing the lock of a run that is still working lets a second run overlap
      it. Exit status 0 when the lock was removed or there was none, 75 when it is live.
      """,
    run: runUnlock)

  private static func runUnlock(_ context: CommandContext) throws -> Int32 {
    _ = try context.configuration()
    let repository = try context.openRepository(create: false)
    let removed = try RunLock.remove(
      store: repository.store, options: try context.lockOptions(command: "unlock"),
      force: context.arguments.has("force"), logger: context.logger)
    guard let removed else {
      if !context.arguments.has("quiet") { context.print("no lock in \(repository.store.location)") }
      return 0
    }
    if !context.arguments.has("quiet") {
      context.print(
        "removed the lock of \(removed.holderDescription), last refreshed \(formatSeconds(removed.age)) ago")
    }
    context.logger.notice("lock removed", [("holder", .string(removed.holderDescription))])
    return 0
  }
}
