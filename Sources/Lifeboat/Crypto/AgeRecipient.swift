import Foundation

/// Whom an age file is encrypted to: an X25519 public key (`age1…`) or a passphrase (scrypt).
public enum AgeRecipient: Sendable, Equatable, CustomStringConvertible {
  case x25519(publicKey: [UInt8])
  /// `workFactor` is the base-2 logarithm of scrypt's N; age itself writes 18.
  case scrypt(passphrase: [UInt8], workFactor: Int)

  public static let defaultWorkFactor = 18
  static let hrp = "age"

  /// Parses an `age1…` recipient.
  public init(parsing text: String) throws {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    let decoded: (hrp: String, data: [UInt8])
    do {
      decoded = try Bech32.decode(trimmed)
    } catch {
      throw AgeError.invalidRecipient(trimmed, reason: "not valid Bech32 (\(error))")
    }
    guard decoded.hrp == AgeRecipient.hrp else {
      throw AgeError.invalidRecipient(
        trimmed, reason: "expected an X25519 recipient starting with 'age1'")
    }
    guard decoded.data.count == 32 else {
      throw AgeError.invalidRecipient(trimmed, reason: "the key is \(decoded.data.count) bytes, not 32")
    }
    self = .x25519(publicKey: decoded.data)
  }

  /// The `age1…` string, or `passphrase` for scrypt; never the passphrase itself.
  public var description: String {
    switch self {
    case .x25519(let publicKey): return Bech32.encode(hrp: AgeRecipient.hrp, data: publicKey)
    case .scrypt: return "passphrase"
    }
  }

  /// Wraps `fileKey` in this recipient's stanza.
  func makeStanza(fileKey: [UInt8]) throws -> AgeStanza {
    switch self {
    case .x25519(let publicKey):
      let ephemeralSecret = try CryptoPrimitives.randomBytes(32)
      let share = try CryptoPrimitives.x25519PublicKey(secret: ephemeralSecret)
      let shared = try CryptoPrimitives.x25519(secret: ephemeralSecret, publicKey: publicKey)
      let wrapKey = try CryptoPrimitives.hkdfSHA256(
        key: shared, salt: share + publicKey, info: Array(AgeStanza.x25519Label.utf8))
      let body = try ChaCha20Poly1305.sealOnce(key: wrapKey, plaintext: fileKey)
      return AgeStanza(arguments: ["X25519", AgeBase64.encode(share)], body: body)
    case .scrypt(let passphrase, let workFactor):
      let salt = try CryptoPrimitives.randomBytes(16)
      let wrapKey = try CryptoPrimitives.scrypt(
        passphrase: passphrase, salt: Array(AgeStanza.scryptLabel.utf8) + salt, logN: workFactor)
      let body = try ChaCha20Poly1305.sealOnce(key: wrapKey, plaintext: fileKey)
      return AgeStanza(arguments: ["scrypt", AgeBase64.encode(salt), String(workFactor)], body: body)
    }
  }
}
