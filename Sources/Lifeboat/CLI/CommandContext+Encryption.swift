import Foundation

extension CommandContext {
  /// Loads the `[encryption]` settings: recipients for new backups, and the identity file and
  /// passphrase that open encrypted ones. The passphrase comes only from an environment variable
  /// or a file descriptor, never from the command line, where other users could read it.
  ///
  /// NOTE: a passphrase from `passphrase_fd` can be read once per process, so call this once.
  func loadRepositoryKeys() throws -> RepositoryKeys {
    let configuration = try configuration()
    var keys = RepositoryKeys()
    for value in configuration.settingValues("encryption.recipient") {
      do {
        keys.recipients.append(try AgeRecipient(parsing: value.text))
      } catch {
        throw LifeboatError(
          .configuration, "\(value.origin): \(error)",
          hint: "recipients are age public keys starting with 'age1'; 'lifeboat keygen' makes one")
      }
    }

    if let path = configuration.string("encryption.identity_file") {
      keys.identities += try readIdentityFile(absolutePath(path))
    }
    if let passphrase = try readPassphrase(configuration) {
      Redaction.register(secret: String(decoding: passphrase, as: UTF8.self))
      keys.identities.append(.scrypt(passphrase: passphrase, maxWorkFactor: AgeIdentity.defaultMaxWorkFactor))
      // With recipients, the passphrase only opens older passphrase backups: age forbids
      // mixing a passphrase with other recipients in one file.
      if keys.recipients.isEmpty {
        let factor = try configuration.integer("encryption.scrypt_work_factor") ?? AgeRecipient.defaultWorkFactor
        keys.recipients = [.scrypt(passphrase: passphrase, workFactor: factor)]
      }
    }
    return keys
  }

  private func readIdentityFile(_ path: String) throws -> [AgeIdentity] {
    guard let bytes = readWholeFile(path, limit: 1 << 20) else {
      throw LifeboatError(
        .configuration, "identity file \(path) cannot be read: \(String(cString: strerror(errno)))",
        hint: "check identity_file in [encryption] or --identity; 'lifeboat keygen' makes one")
    }
    do {
      return try AgeIdentity.parseFile(String(decoding: bytes, as: UTF8.self), name: path)
    } catch {
      throw LifeboatError(.configuration, "\(error)")
    }
  }

  private func readPassphrase(_ configuration: Configuration) throws -> [UInt8]? {
    let name = configuration.string("encryption.passphrase_env")
    let descriptor = try configuration.integer("encryption.passphrase_fd")
    if name != nil && descriptor != nil {
      throw LifeboatError(
        .configuration, "both passphrase_env and passphrase_fd are set in [encryption]",
        hint: "keep one of them")
    }
    var passphrase: [UInt8]
    if let name {
      guard let value = environment[name] else {
        throw LifeboatError(
          .configuration, "passphrase_env names the environment variable \(name), which is not set",
          hint: "export \(name) with the passphrase, or remove passphrase_env from [encryption]")
      }
      passphrase = Array(value.utf8)
    } else if let descriptor {
      passphrase = try readDescriptor(Int32(descriptor))
    } else {
      return nil
    }
    if passphrase.last == UInt8(ascii: "\n") { passphrase.removeLast() }
    if passphrase.last == UInt8(ascii: "\r") { passphrase.removeLast() }
    guard !passphrase.isEmpty else {
      throw LifeboatError(.configuration, "the passphrase from [encryption] is empty")
    }
    return passphrase
  }

  private func readDescriptor(_ descriptor: Int32) throws -> [UInt8] {
    var content: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while content.count <= 65536 {
      let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      if count < 0 {
        throw LifeboatError(
          .configuration,
          "cannot read the passphrase from file descriptor \(descriptor): \(String(cString: strerror(errno)))",
          hint: "open the descriptor for lifeboat, e.g. 'lifeboat ... --passphrase-fd 3 3< passfile'")
      }
      if count == 0 { return content }
      content.append(contentsOf: buffer[0..<count])
    }
    throw LifeboatError(.configuration, "the passphrase on file descriptor \(descriptor) is longer than 64 KiB")
  }
}

extension CommandContext {
  /// Logs whether new backups will be encrypted, and warns when an identity is configured but no
  /// recipient, which stores backups plain although encryption looks set up.
  func logEncryption(_ repository: Repository) throws {
    let recipients = repository.keys.recipients
    if !recipients.isEmpty {
      logger.info("backups are encrypted with age", [
        ("recipients", .string(recipients.map(\.description).joined(separator: ","))),
      ])
    } else if try configuration().string("encryption.identity_file") != nil {
      logger.warning(
        "identity_file is set but no recipient or passphrase: this backup is stored unencrypted; add 'recipient = age1...' to [encryption]")
    }
  }
}
