import Foundation

extension Repository {
  public func encryptionRecordKey(id: String) -> String {
    RepositoryObjectKey(id: id, kind: .encryptionRecord, encrypted: false).key
  }

  /// Returns whether backup `id` has a manifest object, plain or encrypted; no key is needed.
  public func hasManifest(id: String) throws -> Bool {
    for encrypted in [false, true] {
      let key = RepositoryObjectKey(id: id, kind: .manifest, encrypted: encrypted).key
      if try store.head(key: key) != nil { return true }
    }
    return false
  }

  /// Returns the plain `<id>.encryption.json`, or nil when there is none (a plain backup).
  public func encryptionRecord(id: String) throws -> EncryptionRecord? {
    let key = encryptionRecordKey(id: id)
    do {
      return try EncryptionRecord.decode(try store.get(key: key), name: key)
    } catch StorageError.notFound {
      return nil
    }
  }

  /// Reads the manifest object of `id`, plain or encrypted, and returns its key and plaintext.
  ///
  /// The encrypted key is tried first when the repository has keys, the plain key otherwise, so
  /// a repository of one kind costs one request per manifest.
  func readManifest(id: String) throws -> (key: String, bytes: [UInt8], encryption: BackupEncryption?) {
    let plainKey = RepositoryObjectKey(id: id, kind: .manifest, encrypted: false).key
    let sealedKey = RepositoryObjectKey(id: id, kind: .manifest, encrypted: true).key
    let hasKeys = keys.encrypts || !keys.identities.isEmpty
    for key in hasKeys ? [sealedKey, plainKey] : [plainKey, sealedKey] {
      // Without an identity an encrypted manifest is of no use, so only its presence is checked.
      if key == sealedKey && keys.identities.isEmpty {
        guard try store.head(key: key) != nil else { continue }
        throw try keyError(id: id, object: key, cause: nil)
      }
      let bytes: [UInt8]
      do {
        bytes = try store.get(key: key)
      } catch StorageError.notFound {
        continue
      }
      guard key == sealedKey else { return (key, bytes, nil) }
      do {
        let plain = ByteCollector()
        let decryptor = AgeDecryptor(identities: keys.identities, next: plain)
        try decryptor.write(bytes)
        try decryptor.finish()
        return (key, plain.bytes, BackupEncryption(identities: keys.identities))
      } catch let error as AgeError {
        throw try describe(error, id: id, object: key)
      }
    }
    throw LifeboatError(
      .failure, "backup \(id) not found in \(store.location)",
      hint: "run 'lifeboat list' to see the backups in the repository")
  }

  /// Writes the manifest object, whose presence commits the backup. When the repository
  /// encrypts, the manifest is encrypted in memory, and the plain encryption record, with the
  /// backup's metadata, is written before it so that the manifest stays the last object of the
  /// backup.
  public func commitManifest(_ manifest: Manifest) throws {
    let plain = try manifest.encoded()
    guard keys.encrypts, let archive = manifest.archive else {
      try store.put(key: manifestKey(id: manifest.id), data: plain)
      return
    }
    let sealed = ByteCollector()
    let encryptor = try AgeEncryptor(recipients: keys.recipients, next: sealed)
    try encryptor.write(plain)
    try encryptor.finish()

    let key = RepositoryObjectKey(id: manifest.id, kind: .manifest, encrypted: true).key
    let record = EncryptionRecord(
      id: manifest.id, recipients: keys.recipients.map(\.description),
      objects: [
        StoredObject(
          key: archive.key, size: archive.storedSize ?? archive.size,
          sha256: archive.storedSHA256 ?? archive.sha256),
        StoredObject(
          key: key, size: Int64(sealed.bytes.count), sha256: SHA256Hasher.hash(sealed.bytes).hexString),
      ],
      backup: BackupMetadata(manifest: manifest))
    try store.put(key: encryptionRecordKey(id: manifest.id), data: try record.encoded())
    try store.put(key: key, data: sealed.bytes)
  }

  /// Turns an age failure on one of backup `id`'s objects into an operator error. A key that
  /// does not fit names the backup's recipients from its encryption record.
  func describe(_ error: AgeError, id: String, object: String) throws -> LifeboatError {
    switch error {
    case .noMatchingIdentity, .passphraseRequired:
      return try keyError(id: id, object: object, cause: error)
    case .workFactorTooHigh:
      return LifeboatError(.dataError, "backup \(id): \(object): \(error)")
    default:
      return LifeboatError(
        .dataError, "backup \(id): \(object) is damaged: \(error)",
        hint: "restore from another backup ('lifeboat list'), and run 'lifeboat verify --all'")
    }
  }

  /// Returns the configuration error (exit status 78) of an encrypted object of backup `id`
  /// that no configured key opens. `Repository.overview(id:)` relies on this being the only
  /// `.configuration` error that reading a manifest raises.
  func keyError(id: String, object: String, cause: AgeError?) throws -> LifeboatError {
    let recipients = (try? encryptionRecord(id: id))?.recipients
    let encryptedTo = recipients.map { "encrypted to \($0.joined(separator: ", "))" }
      ?? "encrypted (its recipients are unknown: \(encryptionRecordKey(id: id)) cannot be read)"
    let hint = "set identity_file in [encryption] or pass --identity FILE with the identity of "
      + "one of those recipients (passphrase_env or passphrase_fd for a passphrase backup)"
    guard let cause else {
      return LifeboatError(
        .configuration, "backup \(id) is \(encryptedTo), and no identity or passphrase is configured",
        hint: hint)
    }
    if case .noMatchingIdentity(let types, _) = cause, types == ["scrypt"] {
      return LifeboatError(
        .configuration, "backup \(id) is encrypted with a passphrase, and the configured passphrase does not open \(object)",
        hint: "check passphrase_env or passphrase_fd in [encryption]")
    }
    let tried = keys.identities.map(\.description).joined(separator: ", ")
    return LifeboatError(
      .configuration,
      "backup \(id) is \(encryptedTo); none of the configured identities opens \(object) (tried \(tried))",
      hint: hint)
  }
}

/// age encryption in front of a stored object, counting and hashing the bytes as stored.
public final class EncryptingSink: ByteSink {
  private let encryptor: AgeEncryptor
  /// The ciphertext's size and SHA-256, complete after `finish()`.
  public let stored: HashingSink

  public init(recipients: [AgeRecipient], next: ByteSink) throws {
    stored = HashingSink(next: next)
    encryptor = try AgeEncryptor(recipients: recipients, next: stored)
  }

  public func write(_ bytes: UnsafeRawBufferPointer) throws { try encryptor.write(bytes) }

  public func finish() throws { try encryptor.finish() }
}
