/// The age keys a repository works with.
public struct RepositoryKeys: Sendable {
  /// Recipients of new backups. Empty: new backups are stored plain.
  public var recipients: [AgeRecipient] = []
  /// Identities that open encrypted backups: X25519 keys and a passphrase, tried in order.
  public var identities: [AgeIdentity] = []

  public init(recipients: [AgeRecipient] = [], identities: [AgeIdentity] = []) {
    self.recipients = recipients
    self.identities = identities
  }

  public var encrypts: Bool { !recipients.isEmpty }
}

/// How an encrypted backup is opened: the identities that opened its manifest open its archive.
public struct BackupEncryption: Sendable {
  public var identities: [AgeIdentity]
}
