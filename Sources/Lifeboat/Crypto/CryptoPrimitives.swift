import CCrypto
import Foundation

/// A libcrypto call that failed. The message names the operation; OpenSSL's error queue is
/// cleared rather than shown, because its text means nothing to an operator.
public struct CryptoFailure: Error, CustomStringConvertible {
  public var operation: String

  init(_ operation: String) {
    self.operation = operation
    ERR_clear_error()
  }

  public var description: String { "\(operation) failed in libcrypto" }
}

/// The primitives age needs, from libcrypto (OpenSSL 3): randomness, HKDF-SHA-256,
/// HMAC-SHA-256, scrypt and X25519. ChaCha20-Poly1305 is `ChaCha20Poly1305`.
enum CryptoPrimitives {
  /// OSSL_PARAM keeps the name pointer, so the names live for the whole process.
  private enum ParameterName {
    static let digest = strdup(OSSL_KDF_PARAM_DIGEST)!
    static let key = strdup(OSSL_KDF_PARAM_KEY)!
    static let salt = strdup(OSSL_KDF_PARAM_SALT)!
    static let info = strdup(OSSL_KDF_PARAM_INFO)!
    static let password = strdup(OSSL_KDF_PARAM_PASSWORD)!
    static let scryptN = strdup(OSSL_KDF_PARAM_SCRYPT_N)!
    static let scryptR = strdup(OSSL_KDF_PARAM_SCRYPT_R)!
    static let scryptP = strdup(OSSL_KDF_PARAM_SCRYPT_P)!
    static let scryptMaxMemory = strdup(OSSL_KDF_PARAM_SCRYPT_MAXMEM)!
    static let sha256 = strdup("SHA256")!
  }

  static func randomBytes(_ count: Int) throws -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    guard RAND_bytes(&bytes, Int32(count)) == 1 else { throw CryptoFailure("RAND_bytes") }
    return bytes
  }

  /// Derives 32 bytes with HKDF-SHA-256 (RFC 5869: extract with `salt`, then expand with `info`).
  static func hkdfSHA256(key: [UInt8], salt: [UInt8], info: [UInt8]) throws -> [UInt8] {
    guard let kdf = EVP_KDF_fetch(nil, "HKDF", nil) else { throw CryptoFailure("EVP_KDF_fetch(HKDF)") }
    defer { EVP_KDF_free(kdf) }
    guard let context = EVP_KDF_CTX_new(kdf) else { throw CryptoFailure("EVP_KDF_CTX_new(HKDF)") }
    defer { EVP_KDF_CTX_free(context) }

    var output = [UInt8](repeating: 0, count: 32)
    // An empty octet string still needs a valid pointer.
    var key = key
    let saltCount = salt.count
    var salt = salt.isEmpty ? [0] : salt
    let infoCount = info.count
    var info = info.isEmpty ? [0] : info
    let status = key.withUnsafeMutableBytes { keyBytes in
      salt.withUnsafeMutableBytes { saltBytes in
        info.withUnsafeMutableBytes { infoBytes in
          var parameters = [
            OSSL_PARAM_construct_utf8_string(ParameterName.digest, ParameterName.sha256, 0),
            OSSL_PARAM_construct_octet_string(ParameterName.key, keyBytes.baseAddress, keyBytes.count),
            OSSL_PARAM_construct_octet_string(ParameterName.salt, saltBytes.baseAddress, saltCount),
            OSSL_PARAM_construct_octet_string(ParameterName.info, infoBytes.baseAddress, infoCount),
            OSSL_PARAM_construct_end(),
          ]
          return EVP_KDF_derive(context, &output, output.count, &parameters)
        }
      }
    }
    guard status == 1 else { throw CryptoFailure("HKDF-SHA-256") }
    return output
  }

  static func hmacSHA256(key: [UInt8], data: [UInt8]) throws -> [UInt8] {
    var mac = [UInt8](repeating: 0, count: 32)
    var length: UInt32 = 0
    let result = key.withUnsafeBytes { keyBytes in
      data.withUnsafeBytes { dataBytes in
        HMAC(
          EVP_sha256(), keyBytes.baseAddress, Int32(keyBytes.count),
          dataBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), dataBytes.count, &mac, &length)
      }
    }
    guard result != nil, length == 32 else { throw CryptoFailure("HMAC-SHA-256") }
    return mac
  }

  /// Derives 32 bytes with scrypt (RFC 7914) at N = 2^`logN`, r = 8, p = 1.
  ///
  /// Memory use is about 2^(logN + 10) bytes: 256 MiB at 18, 4 GiB at 22.
  static func scrypt(passphrase: [UInt8], salt: [UInt8], logN: Int) throws -> [UInt8] {
    precondition((1...30).contains(logN), "scrypt work factor out of range")
    guard let kdf = EVP_KDF_fetch(nil, "SCRYPT", nil) else {
      throw CryptoFailure("EVP_KDF_fetch(SCRYPT)")
    }
    defer { EVP_KDF_free(kdf) }
    guard let context = EVP_KDF_CTX_new(kdf) else { throw CryptoFailure("EVP_KDF_CTX_new(SCRYPT)") }
    defer { EVP_KDF_CTX_free(context) }

    var n = UInt64(1) << UInt64(logN)
    var r: UInt32 = 8
    var p: UInt32 = 1
    // libcrypto's scrypt needs 128·r·(N + 2) bytes for V plus 128·r·p for B; its default cap is
    // 32 MiB, below age's usual work factor of 18.
    var maxMemory = 128 * UInt64(r) * (n + 2) + 128 * UInt64(r) * UInt64(p) + (1 << 20)
    var output = [UInt8](repeating: 0, count: 32)
    var password = passphrase.isEmpty ? [0] : passphrase
    let passwordCount = passphrase.count
    var salt = salt
    let status = password.withUnsafeMutableBytes { passwordBytes in
      salt.withUnsafeMutableBytes { saltBytes in
        var parameters = [
          OSSL_PARAM_construct_octet_string(ParameterName.password, passwordBytes.baseAddress, passwordCount),
          OSSL_PARAM_construct_octet_string(ParameterName.salt, saltBytes.baseAddress, saltBytes.count),
          OSSL_PARAM_construct_uint64(ParameterName.scryptN, &n),
          OSSL_PARAM_construct_uint32(ParameterName.scryptR, &r),
          OSSL_PARAM_construct_uint32(ParameterName.scryptP, &p),
          OSSL_PARAM_construct_uint64(ParameterName.scryptMaxMemory, &maxMemory),
          OSSL_PARAM_construct_end(),
        ]
        return EVP_KDF_derive(context, &output, output.count, &parameters)
      }
    }
    guard status == 1 else { throw CryptoFailure("scrypt with work factor \(logN)") }
    return output
  }

  /// Returns X25519(`secret`, basepoint), the public key of a 32-byte secret.
  static func x25519PublicKey(secret: [UInt8]) throws -> [UInt8] {
    let key = try privateKey(secret)
    defer { EVP_PKEY_free(key) }
    var publicKey = [UInt8](repeating: 0, count: 32)
    var length = 32
    guard EVP_PKEY_get_raw_public_key(key, &publicKey, &length) == 1, length == 32 else {
      throw CryptoFailure("X25519 public key")
    }
    return publicKey
  }

  /// Returns X25519(`secret`, `publicKey`). Throws when the result is all zero bytes, which
  /// happens only for a low-order point and which age requires to be rejected.
  static func x25519(secret: [UInt8], publicKey: [UInt8]) throws -> [UInt8] {
    let key = try privateKey(secret)
    defer { EVP_PKEY_free(key) }
    guard let peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nil, publicKey, publicKey.count)
    else { throw CryptoFailure("X25519 peer key") }
    defer { EVP_PKEY_free(peer) }
    guard let context = EVP_PKEY_CTX_new(key, nil) else { throw CryptoFailure("EVP_PKEY_CTX_new") }
    defer { EVP_PKEY_CTX_free(context) }

    var shared = [UInt8](repeating: 0, count: 32)
    var length = 32
    // libcrypto itself fails the derivation when the shared secret is all zero.
    guard EVP_PKEY_derive_init(context) == 1, EVP_PKEY_derive_set_peer(context, peer) == 1,
      EVP_PKEY_derive(context, &shared, &length) == 1, length == 32
    else { throw CryptoFailure("X25519") }
    guard shared.contains(where: { $0 != 0 }) else { throw CryptoFailure("X25519 (all-zero result)") }
    return shared
  }

  private static func privateKey(_ secret: [UInt8]) throws -> OpaquePointer {
    guard secret.count == 32,
      let key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nil, secret, secret.count)
    else { throw CryptoFailure("X25519 private key") }
    return key
  }

  /// Compares in time that depends only on the length.
  static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    return a.withUnsafeBytes { x in
      b.withUnsafeBytes { y in CRYPTO_memcmp(x.baseAddress, y.baseAddress, a.count) == 0 }
    }
  }
}
