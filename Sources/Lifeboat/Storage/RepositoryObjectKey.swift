/// The backup id and kind of an object under `backups/`, parsed from its key: an archive, a
/// manifest (either one plain or age-encrypted, with the `.age` suffix) or the plain encryption
/// record of an encrypted backup.
public struct RepositoryObjectKey: Equatable, Sendable {
  public enum Kind: Equatable, Sendable {
    case archive(CompressionFormat)
    case manifest
    /// `<id>.encryption.json`: recipients and stored sizes, readable without a key.
    case encryptionRecord
  }

  static let encryptedSuffix = ".age"
  static let encryptionRecordSuffix = ".encryption.json"

  public var id: String
  public var kind: Kind
  public var encrypted: Bool

  public init(id: String, kind: Kind, encrypted: Bool) {
    self.id = id
    self.kind = kind
    self.encrypted = encrypted
  }

  /// Parses `backups/<id><suffix>`; nil for any other key or an invalid id.
  public init?(key: String) {
    guard key.hasPrefix(Repository.directory) else { return nil }
    var name = Substring(key.dropFirst(Repository.directory.count))
    if name.hasSuffix(RepositoryObjectKey.encryptionRecordSuffix) {
      name = name.dropLast(RepositoryObjectKey.encryptionRecordSuffix.count)
      guard BackupID.isValid(String(name)) else { return nil }
      self.init(id: String(name), kind: .encryptionRecord, encrypted: false)
      return
    }
    let encrypted = name.hasSuffix(RepositoryObjectKey.encryptedSuffix)
    if encrypted { name = name.dropLast(RepositoryObjectKey.encryptedSuffix.count) }
    let kinds = [(Repository.manifestSuffix, Kind.manifest)]
      + CompressionFormat.allCases.map { ($0.fileExtension, Kind.archive($0)) }
    for (suffix, kind) in kinds where name.hasSuffix(suffix) {
      let id = String(name.dropLast(suffix.count))
      guard BackupID.isValid(id) else { return nil }
      self.init(id: id, kind: kind, encrypted: encrypted)
      return
    }
    return nil
  }

  /// The object key this value describes.
  public var key: String {
    switch kind {
    case .encryptionRecord:
      return Repository.directory + id + RepositoryObjectKey.encryptionRecordSuffix
    case .manifest:
      return Repository.directory + id + Repository.manifestSuffix + (encrypted ? RepositoryObjectKey.encryptedSuffix : "")
    case .archive(let format):
      return Repository.directory + id + format.fileExtension + (encrypted ? RepositoryObjectKey.encryptedSuffix : "")
    }
  }
}
