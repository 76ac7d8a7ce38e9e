import Foundation

/// Counts and sizes of what a repository holds, for the metrics file.
public struct RepositoryStatistics: Sendable, Equatable {
  /// Committed backups: those whose manifest object, plain or encrypted, exists.
  public var backups: Int
  /// Bytes of every object under `backups/`, uncommitted debris included, as storage bills them.
  public var sizeBytes: Int64
  /// Start time of the newest committed backup, from its id.
  public var newestBackupTime: Date?
}

extension Repository {
  /// Gathers the repository's statistics from one listing, without reading any manifest.
  public func statistics() throws -> RepositoryStatistics {
    let objects = try store.list(prefix: Repository.directory)
    let ids = Repository.backupIDs(in: objects)
    return RepositoryStatistics(
      backups: ids.count, sizeBytes: objects.reduce(0) { $0 + $1.size },
      newestBackupTime: ids.last.flatMap(BackupID.time(of:)))
  }
}
