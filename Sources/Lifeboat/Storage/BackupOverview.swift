/// The facts about a committed backup that `prune`, `health` and `list` need, read without its
/// archive.
///
/// It comes from the manifest when a configured key opens it (or the backup is plain). For an
/// encrypted backup that no configured key opens, it comes from the backup's plain encryption
/// record, which anyone who can write to the repository could have changed.
public struct BackupOverview: Sendable {
  public enum Origin: Sendable {
    case manifest
    case encryptionRecord
  }

  public var id: String
  public var host: String
  /// `complete`, `warnings` or `partial`.
  public var status: String
  public var startedAt: String
  public var fileCount: Int
  /// Bytes of all archived files before compression.
  public var totalBytes: Int64
  public var compression: String
  public var manifestKey: String
  public var archiveKey: String
  /// Size and SHA-256 of the archive object as stored: the ciphertext of an encrypted backup.
  public var storedSize: Int64
  public var storedSHA256: String
  /// Size of the compressed archive before encryption, or nil when only the encryption record
  /// was read.
  public var archiveSize: Int64?
  /// Key of the plain `<id>.encryption.json`, set for an encrypted backup.
  public var encryptionRecordKey: String?
  public var origin: Origin

  public var encrypted: Bool { encryptionRecordKey != nil }

  /// Builds the overview of a backup whose manifest was read.
  init(record: BackupRecord, encryptionRecordKey: String?) throws {
    let manifest = record.manifest
    guard let archive = manifest.archive else {
      throw LifeboatError(.dataError, "manifest \(record.manifestKey) names no archive")
    }
    id = record.id
    host = manifest.host
    status = manifest.status
    startedAt = manifest.startedAt
    fileCount = manifest.fileCount
    totalBytes = manifest.totalBytes
    compression = manifest.compression
    manifestKey = record.manifestKey
    archiveKey = archive.key
    storedSize = archive.storedSize ?? archive.size
    storedSHA256 = archive.storedSHA256 ?? archive.sha256
    archiveSize = archive.size
    self.encryptionRecordKey = encryptionRecordKey
    origin = .manifest
  }

  /// Builds the overview of an encrypted backup from its encryption record alone.
  init(metadata: BackupMetadata, archive: StoredObject, id: String, manifestKey: String, encryptionRecordKey: String) {
    self.id = id
    host = metadata.host
    status = metadata.status
    startedAt = metadata.startedAt
    fileCount = metadata.fileCount
    totalBytes = metadata.totalBytes
    compression = metadata.compression
    self.manifestKey = manifestKey
    archiveKey = archive.key
    storedSize = archive.size
    storedSHA256 = archive.sha256
    archiveSize = nil
    self.encryptionRecordKey = encryptionRecordKey
    origin = .encryptionRecord
  }
}

/// An encrypted backup whose status and host cannot be read: no configured key opens its
/// manifest, and its encryption record is missing or was written by a lifeboat that did not
/// store the backup's metadata there yet.
///
/// It is not damage. With a key the backup reads as any other.
public struct KeyRequiredError: Error, CustomStringConvertible {
  public var id: String
  /// The backup's encryption record, which still names its objects and recipients.
  public var encryptionRecord: EncryptionRecord?
  /// The configuration error (exit status 78) that names the recipients and the settings to set.
  public var keyError: LifeboatError

  public var description: String { keyError.message }
}
