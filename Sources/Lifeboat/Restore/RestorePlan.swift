import Foundation

/// The plan of an in-place restore, worked out before anything changes. `--dry-run` prints
/// it, and `RestoreProcedure` carries it out.
public struct RestorePlan: Sendable {
  /// One source of the backup and where it goes.
  public struct Item: Sendable {
    public var name: String
    /// `database` or `tree`.
    public var kind: String
    /// The absolute path the source is restored to: its recorded path, with a symlink at that
    /// path resolved to its target.
    public var destination: String
    /// The hidden directory beside the destination where the archive is extracted.
    public var stagingDirectory: String
    public var rollbackDirectory: String
    /// Bytes of regular files the backup holds for this source.
    public var restoredBytes: Int64
    public var restoredEntries: Int
    /// The current files at the destination, which step 4 moves aside.
    public var existing: [ExistingPath]

    public var isDatabase: Bool { kind == "database" }

    /// Returns where `path` (one of `existing`) is planned to go in step 4. The procedure appends
    /// `-2`, `-3`… to the directory if it exists by then.
    public func savedPath(for path: String) -> String {
      rollbackDirectory + "/" + (path as NSString).lastPathComponent
    }
  }

  /// A file or tree at a destination.
  public struct ExistingPath: Sendable {
    public var path: String
    public var bytes: Int64
    public var entries: Int
  }

  /// The free space on one file system against what the restore writes there.
  public struct SpaceCheck: Sendable {
    /// An existing directory on the file system.
    public var directory: String
    /// Bytes needed: restored files rounded up to whole 4 KiB blocks, 4 KiB per directory or
    /// link, and the downloaded archive when it goes there.
    public var required: Int64
    /// Bytes available to lifeboat's user (`statvfs` `f_bavail`).
    public var available: Int64

    public var isSufficient: Bool { available >= required }
  }

  public var record: BackupRecord
  public var items: [Item]
  /// The file that step 1 downloads the archive to.
  public var downloadPath: String
  public var space: [SpaceCheck]
  /// Processes that have a selected database (or its journal) open now.
  public var openFiles: OpenFileScanner.Result
  /// Missing parent directories that step 2 creates (a restore on a new host).
  public var directoriesToCreate: [String]
  public var settings: RestoreSettings
  /// Problems that prevent the restore; `RestoreProcedure` does not start while there are any.
  public var blockers: [LifeboatError]
  /// Things the operator should know that do not prevent the restore.
  public var notes: [String]

  public var archiveBytes: Int64 { record.manifest.archive?.size ?? 0 }

  /// The database files whose holders must be gone before step 4.
  public var databasePaths: [String] {
    items.filter(\.isDatabase).flatMap { $0.existing.map(\.path) }
  }
}
