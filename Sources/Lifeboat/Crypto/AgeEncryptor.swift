/// Encrypts a byte stream into the age v1 format and writes it to `next`.
///
/// The header (one stanza per recipient) and the payload nonce go out with the first write.
/// The payload is sealed in 64 KiB chunks with ChaCha20-Poly1305 on the calling thread, each
/// under the nonce `counter (11 bytes, big endian) || flag`, where the flag is 1 only for the
/// last chunk. A full chunk is held back until more data arrives, because which chunk is last
/// is certain only in `finish()`. Memory stays at two chunk buffers whatever the stream's length.
public final class AgeEncryptor: ByteSink {
  static let chunkSize = 64 * 1024
  static let sealedChunkSize = chunkSize + ChaCha20Poly1305.tagSize

  private let next: ByteSink
  private var header: [UInt8]?
  private let payloadNonce: [UInt8]
  private let cipher: ChaCha20Poly1305
  private var counter: UInt64 = 0
  private let plain: UnsafeMutableRawBufferPointer
  private var plainCount = 0
  private let sealed: UnsafeMutableRawBufferPointer
  private var nonce = [UInt8](repeating: 0, count: ChaCha20Poly1305.nonceSize)
  private var finished = false

  /// Prepares the header for `recipients`. A scrypt recipient must be the only one.
  ///
  /// - Throws: `AgeError.noRecipients`, `AgeError.scryptNotAlone`, or `CryptoFailure`.
  public init(recipients: [AgeRecipient], next: ByteSink) throws {
    guard !recipients.isEmpty else { throw AgeError.noRecipients }
    if recipients.count > 1, recipients.contains(where: { if case .scrypt = $0 { true } else { false } }) {
      throw AgeError.scryptNotAlone
    }
    self.next = next
    let fileKey = try CryptoPrimitives.randomBytes(16)
    let stanzas = try recipients.map { try $0.makeStanza(fileKey: fileKey) }
    header = try AgeHeader.encode(stanzas: stanzas, fileKey: fileKey)
    payloadNonce = try CryptoPrimitives.randomBytes(16)
    let payloadKey = try CryptoPrimitives.hkdfSHA256(
      key: fileKey, salt: payloadNonce, info: Array("payload".utf8))
    cipher = try ChaCha20Poly1305(key: payloadKey, encrypting: true)
    plain = .allocate(byteCount: AgeEncryptor.chunkSize, alignment: 16)
    sealed = .allocate(byteCount: AgeEncryptor.sealedChunkSize, alignment: 16)
  }

  deinit {
    plain.deallocate()
    sealed.deallocate()
  }

  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    precondition(!finished, "write after finish")
    try writeHeaderOnce()
    var offset = 0
    while offset < bytes.count {
      if plainCount == AgeEncryptor.chunkSize {
        try sealChunk(UnsafeRawBufferPointer(plain), last: false)
        plainCount = 0
      }
      let remaining = bytes.count - offset
      // Whole chunks with more data after them go straight from the caller's buffer.
      if plainCount == 0 && remaining > AgeEncryptor.chunkSize {
        try sealChunk(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + AgeEncryptor.chunkSize)]), last: false)
        offset += AgeEncryptor.chunkSize
        continue
      }
      let count = min(remaining, AgeEncryptor.chunkSize - plainCount)
      (plain.baseAddress! + plainCount).copyMemory(from: bytes.baseAddress! + offset, byteCount: count)
      plainCount += count
      offset += count
    }
  }

  /// Seals the last chunk, which is empty only when the whole stream was, and finishes `next`.
  public func finish() throws {
    guard !finished else { return }
    try writeHeaderOnce()
    try sealChunk(UnsafeRawBufferPointer(rebasing: plain[0..<plainCount]), last: true)
    plainCount = 0
    finished = true
    try next.finish()
  }

  private func writeHeaderOnce() throws {
    guard let header else { return }
    self.header = nil
    try next.write(header + payloadNonce)
  }

  private func sealChunk(_ chunk: UnsafeRawBufferPointer, last: Bool) throws {
    // An 11-byte counter cannot wrap before 2^64 chunks, far beyond any archive.
    var value = counter
    for index in stride(from: 10, through: 3, by: -1) {
      nonce[index] = UInt8(truncatingIfNeeded: value)
      value >>= 8
    }
    nonce[11] = last ? 1 : 0
    try nonce.withUnsafeBytes { nonceBytes in
      try cipher.seal(chunk, nonce: nonceBytes, into: sealed)
    }
    counter += 1
    try next.write(UnsafeRawBufferPointer(rebasing: sealed[0..<(chunk.count + ChaCha20Poly1305.tagSize)]))
  }
}
