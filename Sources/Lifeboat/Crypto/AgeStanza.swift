/// One recipient stanza of an age header: its arguments (the first is the type, such as
/// `X25519` or `scrypt`) and its binary body.
struct AgeStanza: Equatable {
  static let x25519Label = "age-encryption.org/v1/X25519"
  static let scryptLabel = "age-encryption.org/v1/scrypt"

  var arguments: [String]
  var body: [UInt8]

  var type: String { arguments.first ?? "" }

  /// Unwraps the file key with `identity`. Returns nil when the stanza is addressed to someone
  /// else, and throws when the stanza is malformed for its type (age requires rejecting those).
  func unwrap(with identity: AgeIdentity) throws -> [UInt8]? {
    switch (type, identity) {
    case ("X25519", .x25519(let secretKey)):
      guard arguments.count == 2, let share = AgeBase64.decode(arguments[1].utf8), share.count == 32
      else { throw AgeError.invalidHeader("malformed X25519 stanza arguments") }
      // Checked before any decryption, as the format requires against partitioning oracles.
      guard body.count == 32 else { throw AgeError.invalidHeader("X25519 stanza body is not 32 bytes") }
      let shared: [UInt8]
      do {
        shared = try CryptoPrimitives.x25519(secret: secretKey, publicKey: share)
      } catch {
        throw AgeError.invalidHeader("X25519 stanza has an invalid ephemeral share")
      }
      let recipient = try CryptoPrimitives.x25519PublicKey(secret: secretKey)
      let wrapKey = try CryptoPrimitives.hkdfSHA256(
        key: shared, salt: share + recipient, info: Array(AgeStanza.x25519Label.utf8))
      return try ChaCha20Poly1305.openOnce(key: wrapKey, sealed: body)

    case ("scrypt", .scrypt(let passphrase, let maxWorkFactor)):
      guard arguments.count == 3, let salt = AgeBase64.decode(arguments[1].utf8), salt.count == 16
      else { throw AgeError.invalidHeader("malformed scrypt stanza arguments") }
      let factor = arguments[2]
      guard let first = factor.utf8.first, first != UInt8(ascii: "0"), factor.utf8.count <= 2,
        factor.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let logN = Int(factor)
      else { throw AgeError.invalidHeader("scrypt work factor '\(factor)' is not a plain decimal number") }
      guard logN <= maxWorkFactor else { throw AgeError.workFactorTooHigh(logN, maximum: maxWorkFactor) }
      guard body.count == 32 else { throw AgeError.invalidHeader("scrypt stanza body is not 32 bytes") }
      let wrapKey = try CryptoPrimitives.scrypt(
        passphrase: passphrase, salt: Array(AgeStanza.scryptLabel.utf8) + salt, logN: logN)
      return try ChaCha20Poly1305.openOnce(key: wrapKey, sealed: body)

    default:
      return nil
    }
  }
}
