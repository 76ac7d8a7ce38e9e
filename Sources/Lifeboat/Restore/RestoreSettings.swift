import Foundation

/// The `[restore]` settings of an in-place restore.
public struct RestoreSettings: Sendable {
  public var stopCommand: String?
  public var startCommand: String?
  public var healthCommand: String?
  public var healthURL: String?
  /// Seconds to retry the health check.
  public var healthTimeout: Double = 60
  /// Seconds each stop, start or health command may run.
  public var hookTimeout: Double = 120
  /// A directory on the same file system as every destination, or nil for a hidden directory
  /// beside each destination.
  public var rollbackDirectory: String?
  /// Keep the replaced files after a successful restore.
  public var keepRollback = true
  /// The directory the archive is downloaded to, or nil for beside the first destination.
  public var spoolDirectory: String?
  public var allowExternalSymlinks = false

  public init() {}

  /// Reads `[restore]` from the configuration. Empty commands count as not set.
  public init(configuration: Configuration) throws {
    func command(_ name: String) -> String? {
      guard let text = configuration.string(name)?.trimmingCharacters(in: .whitespaces),
        !text.isEmpty
      else { return nil }
      return text
    }
    stopCommand = command("restore.stop_command")
    startCommand = command("restore.start_command")
    healthCommand = command("restore.health_command")
    healthURL = command("restore.health_url")
    healthTimeout = try configuration.duration("restore.health_timeout") ?? healthTimeout
    hookTimeout = try configuration.duration("restore.hook_timeout") ?? hookTimeout
    rollbackDirectory = configuration.string("restore.rollback_dir").map { absolutePath($0) }
    keepRollback = try configuration.bool("restore.keep_rollback") ?? keepRollback
    spoolDirectory = configuration.string("backup.spool_dir").map { absolutePath($0) }
  }

  public var healthCheck: ServiceHealthCheck {
    ServiceHealthCheck(
      command: healthCommand, url: healthURL, timeout: healthTimeout, attemptTimeout: hookTimeout)
  }
}
