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

/// The keys of an encrypted backup: the identities that opened its manifest, which open its
/// archive too.
public struct BackupEncryption: Sendable {
  public var identities: [AgeIdentity]
}
