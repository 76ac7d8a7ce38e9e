import Foundation

/// A key that opens age files: an X25519 secret key (`AGE-SECRET-KEY-1…`) or a passphrase.
public enum AgeIdentity: Sendable, CustomStringConvertible {
  case x25519(secretKey: [UInt8])
  /// `maxWorkFactor` caps the scrypt work factor (log2 N) a file may ask for, and so the memory
  /// and time one decryption can take.
  case scrypt(passphrase: [UInt8], maxWorkFactor: Int)

  /// age 1.1.1's own cap. At 22, scrypt needs 4 GiB of memory.
  public static let defaultMaxWorkFactor = 22
  static let hrp = "age-secret-key-"

  /// Makes a new X25519 identity from 32 bytes of libcrypto's CSPRNG.
  public static func generate() throws -> AgeIdentity {
    .x25519(secretKey: try CryptoPrimitives.randomBytes(32))
  }

  /// Parses one `AGE-SECRET-KEY-1…` line. Error messages never repeat the text.
  public init(parsing text: String) throws {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    let decoded: (hrp: String, data: [UInt8])
    do {
      decoded = try Bech32.decode(trimmed)
    } catch {
      throw AgeError.invalidIdentity("a line is not valid Bech32 (\(error))")
    }
    guard decoded.hrp == AgeIdentity.hrp else {
      throw AgeError.invalidIdentity("expected an X25519 identity starting with 'AGE-SECRET-KEY-1'")
    }
    guard decoded.data.count == 32 else {
      throw AgeError.invalidIdentity("the key is \(decoded.data.count) bytes, not 32")
    }
    self = .x25519(secretKey: decoded.data)
  }

  /// The `AGE-SECRET-KEY-1…` line, in upper case as age-keygen writes it; nil for a passphrase.
  public var encoded: String? {
    guard case .x25519(let secretKey) = self else { return nil }
    return Bech32.encode(hrp: AgeIdentity.hrp, data: secretKey).uppercased()
  }

  /// Returns the matching recipient: the public key, or scrypt at age's default work factor.
  public func recipient() throws -> AgeRecipient {
    switch self {
    case .x25519(let secretKey):
      return .x25519(publicKey: try CryptoPrimitives.x25519PublicKey(secret: secretKey))
    case .scrypt(let passphrase, _):
      return .scrypt(passphrase: passphrase, workFactor: AgeRecipient.defaultWorkFactor)
    }
  }

  /// The public recipient for messages, or `a passphrase`; never secret material.
  public var description: String {
    switch self {
    case .x25519:
      return (try? recipient().description) ?? "an X25519 identity"
    case .scrypt:
      return "a passphrase"
    }
  }

  /// Parses an identity file as age-keygen writes it: `#` comment lines, blank lines and one or
  /// more `AGE-SECRET-KEY-1…` lines. `name` is the file name for messages.
  public static func parseFile(_ text: String, name: String) throws -> [AgeIdentity] {
    var identities: [AgeIdentity] = []
    for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
      if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
      if trimmed.hasPrefix("age-encryption.org/") || trimmed.hasPrefix("-----BEGIN AGE") {
        throw AgeError.invalidIdentity(
          "\(name) is an encrypted age file; passphrase-protected identity files are not supported, decrypt it to a 0600 file first")
      }
      do {
        identities.append(try AgeIdentity(parsing: trimmed))
      } catch let error as AgeError {
        guard case .invalidIdentity(let reason) = error else { throw error }
        throw AgeError.invalidIdentity("\(name) line \(index + 1): \(reason)")
      }
    }
    guard !identities.isEmpty else {
      throw AgeError.invalidIdentity("\(name) contains no AGE-SECRET-KEY-1 line")
    }
    return identities
  }

  /// Returns the identity file text as age-keygen writes it: creation time, public key, then
  /// the secret key.
  public func identityFileText(created: Date) throws -> String {
    guard let encoded else { throw AgeError.invalidIdentity("a passphrase has no identity file") }
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return """
      # created: \(formatter.string(from: created))
      # public key: \(try recipient())
      \(encoded)

      """
  }
}
