import CCrypto

/// ChaCha20-Poly1305 (RFC 7539) with one key and a fresh 12-byte nonce per message, through one
/// reused libcrypto context so that sealing a 64 KiB chunk allocates nothing.
final class ChaCha20Poly1305 {
  static let keySize = 32
  static let nonceSize = 12
  static let tagSize = 16

  private let context: OpaquePointer
  private let encrypting: Bool

  /// Sets up a context for `key` that encrypts (`encrypting`) or decrypts.
  init(key: [UInt8], encrypting: Bool) throws {
    precondition(key.count == ChaCha20Poly1305.keySize)
    guard let context = EVP_CIPHER_CTX_new() else { throw CryptoFailure("EVP_CIPHER_CTX_new") }
    self.context = context
    self.encrypting = encrypting
    guard EVP_CipherInit_ex(context, EVP_chacha20_poly1305(), nil, key, nil, encrypting ? 1 : 0) == 1
    else {
      EVP_CIPHER_CTX_free(context)
      throw CryptoFailure("ChaCha20-Poly1305 key setup")
    }
  }

  deinit { EVP_CIPHER_CTX_free(context) }

  /// Encrypts `plaintext` into `output`, which must hold `plaintext.count + 16` bytes: the
  /// ciphertext followed by the tag.
  func seal(
    _ plaintext: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer,
    into output: UnsafeMutableRawBufferPointer
  ) throws {
    precondition(encrypting && output.count >= plaintext.count + ChaCha20Poly1305.tagSize)
    let out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
    var written: Int32 = 0
    var finalWritten: Int32 = 0
    guard EVP_CipherInit_ex(context, nil, nil, nil, nonce.baseAddress?.assumingMemoryBound(to: UInt8.self), 1) == 1,
      plaintext.isEmpty
        || EVP_CipherUpdate(
          context, out, &written, plaintext.baseAddress!.assumingMemoryBound(to: UInt8.self),
          Int32(plaintext.count)) == 1,
      EVP_CipherFinal_ex(context, out + Int(written), &finalWritten) == 1,
      Int(written + finalWritten) == plaintext.count,
      EVP_CIPHER_CTX_ctrl(
        context, EVP_CTRL_AEAD_GET_TAG, Int32(ChaCha20Poly1305.tagSize), out + plaintext.count) == 1
    else { throw CryptoFailure("ChaCha20-Poly1305 encryption") }
  }

  /// Decrypts and authenticates `sealed` (ciphertext then tag) into `output`, which must hold
  /// `sealed.count - 16` bytes. Returns false, writing nothing usable, when the tag does not match.
  func open(
    _ sealed: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer,
    into output: UnsafeMutableRawBufferPointer
  ) -> Bool {
    precondition(!encrypting && sealed.count >= ChaCha20Poly1305.tagSize)
    let count = sealed.count - ChaCha20Poly1305.tagSize
    precondition(output.count >= count)
    let input = sealed.baseAddress!.assumingMemoryBound(to: UInt8.self)
    let out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
    var written: Int32 = 0
    var finalWritten: Int32 = 0
    let tag = UnsafeMutableRawPointer(mutating: input + count)
    let ok =
      EVP_CipherInit_ex(context, nil, nil, nil, nonce.baseAddress?.assumingMemoryBound(to: UInt8.self), 0) == 1
      && (count == 0 || EVP_CipherUpdate(context, out, &written, input, Int32(count)) == 1)
      && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, Int32(ChaCha20Poly1305.tagSize), tag) == 1
      && EVP_CipherFinal_ex(context, out + Int(written), &finalWritten) == 1
    if !ok { ERR_clear_error() }
    return ok
  }

  /// Encrypts a short message with a one-off key and the all-zero nonce, as age wraps file keys.
  static func sealOnce(key: [UInt8], plaintext: [UInt8]) throws -> [UInt8] {
    let cipher = try ChaCha20Poly1305(key: key, encrypting: true)
    var output = [UInt8](repeating: 0, count: plaintext.count + tagSize)
    let nonce = [UInt8](repeating: 0, count: nonceSize)
    try plaintext.withUnsafeBytes { input in
      try nonce.withUnsafeBytes { nonceBytes in
        try output.withUnsafeMutableBytes { try cipher.seal(input, nonce: nonceBytes, into: $0) }
      }
    }
    return output
  }

  /// Decrypts what `sealOnce` produced, or returns nil when it does not authenticate.
  static func openOnce(key: [UInt8], sealed: [UInt8]) throws -> [UInt8]? {
    guard sealed.count >= tagSize else { return nil }
    let cipher = try ChaCha20Poly1305(key: key, encrypting: false)
    var output = [UInt8](repeating: 0, count: sealed.count - tagSize + 1)
    let nonce = [UInt8](repeating: 0, count: nonceSize)
    let ok = sealed.withUnsafeBytes { input in
      nonce.withUnsafeBytes { nonceBytes in
        output.withUnsafeMutableBytes { cipher.open(input, nonce: nonceBytes, into: $0) }
      }
    }
    return ok ? Array(output.prefix(sealed.count - tagSize)) : nil
  }
}
