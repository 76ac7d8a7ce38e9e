import Foundation

/// Counts and sizes of what a repository holds, for the metrics file.
public struct RepositoryStatistics: Sendable, Equatable {
  /// Committed backups: those whose manifest object exists.
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
    var ids: [String] = []
    var size: Int64 = 0
    for object in objects {
      size += object.size
      guard object.key.hasSuffix(Repository.manifestSuffix) else { continue }
      let name = String(
        object.key.dropFirst(Repository.directory.count).dropLast(Repository.manifestSuffix.count))
      if BackupID.isValid(name) { ids.append(name) }
    }
    return RepositoryStatistics(
      backups: ids.count, sizeBytes: size, newestBackupTime: ids.max().flatMap(BackupID.time(of:)))
  }
}
