import Foundation

/// One stored object of an encrypted backup, as stored (ciphertext size and SHA-256).
public struct StoredObject: Codable, Sendable, Equatable {
  public var key: String
  public var size: Int64
  public var sha256: String
}

/// The plain `backups/<id>.encryption.json` beside an encrypted backup.
///
/// The manifest object of an encrypted backup is itself encrypted, so without a key nothing in
/// it can be read. This record keeps what commands need without a key. The recipients name the
/// keys that would work when one does not match, since age headers do not carry recipients'
/// public keys. Each stored object's size and SHA-256 serve `verify --quick`, and the backup's
/// metadata serves `prune`, `health` and `list`. The record reveals who can decrypt, when and
/// where the backup was taken, its status and how much it holds, but no file name or content.
///
/// It is not authenticated: the encrypted manifest repeats everything in it, and a full verify
/// checks that the two agree.
public struct EncryptionRecord: Codable, Sendable, Equatable {
  public static let formatName = "lifeboat-encryption"
  public static let currentVersion = 1

  public var format: String = EncryptionRecord.formatName
  public var formatVersion: Int = EncryptionRecord.currentVersion
  public var id: String
  /// Always `age` (age-encryption.org/v1).
  public var scheme: String = "age"
  /// `age1…` public keys, or `passphrase` for an scrypt-encrypted backup.
  public var recipients: [String]
  public var objects: [StoredObject]
  /// The backup's host, status, times and sizes. Records written by lifeboat before it stored
  /// them lack this field, and so keep the format version 1 that readers accept.
  public var backup: BackupMetadata?

  enum CodingKeys: String, CodingKey {
    case format, id, scheme, recipients, objects, backup
    case formatVersion = "format_version"
  }

  public init(id: String, recipients: [String], objects: [StoredObject], backup: BackupMetadata? = nil) {
    self.id = id
    self.recipients = recipients
    self.objects = objects
    self.backup = backup
  }

  /// The archive object (`<id>.tar.gz.age` or `<id>.tar.zst.age`) among `objects`.
  public var archiveObject: StoredObject? {
    objects.first { object in
      guard let parsed = RepositoryObjectKey(key: object.key), case .archive = parsed.kind else { return false }
      return parsed.id == id
    }
  }

  /// Compares this unauthenticated record with the backup's decrypted manifest, and returns
  /// how they disagree, or nil when the record's archive object and metadata match it.
  public func disagreement(with manifest: Manifest) -> String? {
    guard id == manifest.id else { return "it describes backup \(id), the manifest \(manifest.id)" }
    guard let archive = manifest.archive, let stored = archiveObject else {
      return "it names no archive object"
    }
    let expected = StoredObject(
      key: archive.key, size: archive.storedSize ?? archive.size,
      sha256: archive.storedSHA256 ?? archive.sha256)
    guard stored == expected else {
      return "it records archive \(stored.key) with \(stored.size) bytes and SHA-256 \(stored.sha256), "
        + "the manifest \(expected.key) with \(expected.size) bytes and SHA-256 \(expected.sha256)"
    }
    if let backup, backup != BackupMetadata(manifest: manifest) {
      return "its backup metadata (host \(backup.host), status \(backup.status), \(backup.fileCount) files) "
        + "differs from the manifest's (host \(manifest.host), status \(manifest.status), \(manifest.fileCount) files)"
    }
    return nil
  }

  public func encoded() throws -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return [UInt8](try encoder.encode(self)) + [UInt8(ascii: "\n")]
  }

  public static func decode(_ bytes: [UInt8], name: String) throws -> EncryptionRecord {
    let record: EncryptionRecord
    do {
      record = try JSONDecoder().decode(EncryptionRecord.self, from: Data(bytes))
    } catch {
      throw LifeboatError(.dataError, "encryption record \(name) is not valid: \(error)")
    }
    guard record.format == formatName, record.formatVersion <= currentVersion else {
      throw LifeboatError(
        .dataError, "\(name) is not a lifeboat encryption record of version \(currentVersion) or older")
    }
    return record
  }
}
