/// The facts about a backup that its plain encryption record repeats from the encrypted
/// manifest, so that `prune`, `health` and `list` work on a host that holds only public keys.
///
/// Every field is a copy of the manifest field of the same name. File names, checksums of the
/// contents, sources and warnings stay in the encrypted manifest.
public struct BackupMetadata: Codable, Sendable, Equatable {
  public var host: String
  /// `complete`, `warnings` or `partial`.
  public var status: String
  public var startedAt: String
  public var finishedAt: String
  /// Regular files in the archive.
  public var fileCount: Int
  /// Bytes of all archived files before compression.
  public var totalBytes: Int64
  /// `gzip` or `zstd`.
  public var compression: String

  enum CodingKeys: String, CodingKey {
    case host, status, compression
    case startedAt = "started_at"
    case finishedAt = "finished_at"
    case fileCount = "file_count"
    case totalBytes = "total_bytes"
  }

  public init(
    host: String, status: String, startedAt: String, finishedAt: String, fileCount: Int,
    totalBytes: Int64, compression: String
  ) {
    self.host = host
    self.status = status
    self.startedAt = startedAt
    self.finishedAt = finishedAt
    self.fileCount = fileCount
    self.totalBytes = totalBytes
    self.compression = compression
  }

  /// Copies the metadata fields of `manifest`.
  public init(manifest: Manifest) {
    self.init(
      host: manifest.host, status: manifest.status, startedAt: manifest.startedAt,
      finishedAt: manifest.finishedAt, fileCount: manifest.fileCount,
      totalBytes: manifest.totalBytes, compression: manifest.compression)
  }
}
