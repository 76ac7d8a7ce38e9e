import CCrypto

/// SHA-256 and HMAC-SHA256 from libcrypto, the only primitives SigV4 needs.
enum LibCrypto {
  static let sha256Length = 32

  static func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
    var digest = [UInt8](repeating: 0, count: sha256Length)
    var length: UInt32 = 0
    // EVP_Digest reads nothing when count is 0, but it still needs a valid pointer.
    let status = withUnsafeBytes(of: UInt8(0)) { empty in
      EVP_Digest(
        bytes.baseAddress ?? empty.baseAddress, bytes.count, &digest, &length, EVP_sha256(), nil)
    }
    guard status == 1, length == sha256Length else {
      fatalError("libcrypto EVP_Digest(SHA-256) failed")
    }
    return digest
  }

  static func sha256(_ bytes: [UInt8]) -> [UInt8] {
    bytes.withUnsafeBytes { sha256($0) }
  }

  static func sha256(_ text: String) -> [UInt8] {
    sha256(Array(text.utf8))
  }

  static func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8] {
    var mac = [UInt8](repeating: 0, count: sha256Length)
    var length: UInt32 = 0
    let result = key.withUnsafeBytes { keyBytes in
      data.withUnsafeBytes { dataBytes in
        withUnsafeBytes(of: UInt8(0)) { empty in
          HMAC(
            EVP_sha256(), keyBytes.baseAddress ?? empty.baseAddress, Int32(keyBytes.count),
            (dataBytes.baseAddress ?? empty.baseAddress)?.assumingMemoryBound(to: UInt8.self),
            dataBytes.count, &mac, &length)
        }
      }
    }
    guard result != nil, length == sha256Length else {
      fatalError("libcrypto HMAC(SHA-256) failed")
    }
    return mac
  }

  static func hmacSHA256(key: [UInt8], data: String) -> [UInt8] {
    hmacSHA256(key: key, data: Array(data.utf8))
  }

  /// Formats bytes as lower-case hexadecimal, the form SigV4 uses for hashes and signatures.
  static func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text = [UInt8]()
    text.reserveCapacity(bytes.count * 2)
    for byte in bytes {
      text.append(digits[Int(byte >> 4)])
      text.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: text, as: UTF8.self)
  }
}
