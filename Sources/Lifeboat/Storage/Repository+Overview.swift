extension Repository {
  /// Reads what prune, health and list need about backup `id`: from its manifest when that can
  /// be read, else, for an encrypted backup that no configured key opens, from its plain
  /// encryption record.
  ///
  /// - Throws: `KeyRequiredError` when no key opens the manifest and the encryption record is
  ///   missing or carries no metadata. A `LifeboatError` with `.dataError` for a damaged
  ///   manifest or encryption record, and storage errors.
  public func overview(id: String) throws -> BackupOverview {
    // Without any identity an encrypted manifest cannot be opened, so the encryption record is
    // read first: one request for an encrypted backup, one more for a plain one.
    if keys.identities.isEmpty, let sealed = try encryptionRecord(id: id) {
      return try overview(id: id, sealed: sealed, keyError: nil)
    }
    let record: BackupRecord
    do {
      record = try self.record(id: id)
    } catch let error as LifeboatError where error.code == .configuration {
      // Reading a manifest raises `.configuration` only when no configured key opens it.
      return try overview(id: id, sealed: try encryptionRecord(id: id), keyError: error)
    }
    return try BackupOverview(
      record: record, encryptionRecordKey: record.encryption == nil ? nil : encryptionRecordKey(id: id))
  }

  /// Returns backup `id`'s archive object as stored, with its size and SHA-256. An encrypted
  /// backup that no configured key opens needs only its encryption record, of any version.
  public func storedArchive(id: String) throws -> StoredObject {
    do {
      let overview = try overview(id: id)
      return StoredObject(key: overview.archiveKey, size: overview.storedSize, sha256: overview.storedSHA256)
    } catch let error as KeyRequiredError {
      guard let sealed = error.encryptionRecord, sealed.id == id, let archive = sealed.archiveObject else {
        throw error
      }
      return archive
    }
  }

  private func overview(id: String, sealed: EncryptionRecord?, keyError: LifeboatError?) throws
    -> BackupOverview
  {
    let manifestKey = RepositoryObjectKey(id: id, kind: .manifest, encrypted: true).key
    guard let sealed, let metadata = sealed.backup else {
      let error = try keyError ?? self.keyError(id: id, object: manifestKey, cause: nil)
      throw KeyRequiredError(id: id, encryptionRecord: sealed, keyError: error)
    }
    let key = encryptionRecordKey(id: id)
    guard sealed.id == id else {
      throw LifeboatError(.dataError, "encryption record \(key) describes backup \(sealed.id), not \(id)")
    }
    guard let archive = sealed.archiveObject else {
      throw LifeboatError(.dataError, "encryption record \(key) names no archive of backup \(id)")
    }
    return BackupOverview(
      metadata: metadata, archive: archive, id: id, manifestKey: manifestKey, encryptionRecordKey: key)
  }
}
