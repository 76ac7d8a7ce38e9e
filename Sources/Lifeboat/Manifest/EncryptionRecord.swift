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
/// it can be read. This record keeps the little that needs no key: the recipients (to name them
/// when a key does not match, since age headers do not carry recipients' public keys) and the
/// size and SHA-256 of each stored object (for `verify --quick`). It reveals who can decrypt
/// and nothing about the contents. It is not authenticated: the encrypted manifest repeats the
/// archive's stored size and SHA-256, and a full verify checks those.
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

  enum CodingKeys: String, CodingKey {
    case format, id, scheme, recipients, objects
    case formatVersion = "format_version"
  }

  public init(id: String, recipients: [String], objects: [StoredObject]) {
    self.id = id
    self.recipients = recipients
    self.objects = objects
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
