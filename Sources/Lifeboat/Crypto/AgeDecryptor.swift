/// Decrypts an age v1 stream and writes the plaintext to `next`.
///
/// Nothing reaches `next` before the header MAC is verified, and every chunk is authenticated
/// before it is passed on. A full chunk is held until the next byte arrives: if the stream ends
/// there, that chunk must carry the final flag, so a file cut at a chunk boundary fails in
/// `finish()` with `AgeError.missingFinalChunk`. Memory stays at the header plus two chunks.
public final class AgeDecryptor: ByteSink {
  private enum State {
    case header
    case nonce
    case payload
    case done
  }

  private let identities: [AgeIdentity]
  private let next: ByteSink
  private var state = State.header
  private var pending: [UInt8] = []
  private var scanned = 0
  private var fileKey: [UInt8] = []
  private var cipher: ChaCha20Poly1305?
  private var counter: UInt64 = 0
  private let sealed: UnsafeMutableRawBufferPointer
  private var sealedCount = 0
  private let plain: UnsafeMutableRawBufferPointer
  private var nonce = [UInt8](repeating: 0, count: ChaCha20Poly1305.nonceSize)

  /// The stanza types of the header once it is read, such as `["X25519", "X25519"]`.
  public private(set) var stanzaTypes: [String] = []

  /// Decrypts with the first of `identities` that unwraps the file key.
  public init(identities: [AgeIdentity], next: ByteSink) {
    self.identities = identities
    self.next = next
    sealed = .allocate(byteCount: AgeEncryptor.sealedChunkSize, alignment: 16)
    plain = .allocate(byteCount: AgeEncryptor.chunkSize, alignment: 16)
  }

  deinit {
    sealed.deallocate()
    plain.deallocate()
  }

  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    var offset = 0
    while offset < bytes.count {
      switch state {
      case .header:
        offset += try consumeHeader(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
      case .nonce:
        let count = min(16 - pending.count, bytes.count - offset)
        pending.append(contentsOf: bytes[offset..<(offset + count)])
        offset += count
        if pending.count == 16 { try startPayload() }
      case .payload:
        if sealedCount == AgeEncryptor.sealedChunkSize {
          try openHeldChunk(last: false)
        }
        let count = min(AgeEncryptor.sealedChunkSize - sealedCount, bytes.count - offset)
        (sealed.baseAddress! + sealedCount).copyMemory(from: bytes.baseAddress! + offset, byteCount: count)
        sealedCount += count
        offset += count
      case .done:
        throw AgeError.trailingData(afterChunk: Int(counter) - 1)
      }
    }
  }

  public func finish() throws {
    switch state {
    case .header:
      throw pending.isEmpty ? AgeError.notAgeFile : AgeError.truncatedHeader
    case .nonce:
      throw AgeError.truncatedPayload(chunks: 0)
    case .payload:
      guard sealedCount >= ChaCha20Poly1305.tagSize else {
        throw AgeError.truncatedPayload(chunks: Int(counter))
      }
      try openHeldChunk(last: true)
      state = .done
      try next.finish()
    case .done:
      return
    }
  }

  /// Buffers header bytes until the MAC line, then unwraps the file key and checks the MAC.
  /// Returns how many of `bytes` belong to the header.
  private func consumeHeader(_ bytes: UnsafeRawBufferPointer) throws -> Int {
    let before = pending.count
    let room = AgeHeader.maxLength - before
    let accepted = min(bytes.count, room)
    pending.append(contentsOf: bytes[0..<accepted])
    if before <= AgeHeader.versionLine.count {
      if let newline = pending.firstIndex(of: 0x0A) {
        try AgeHeader.checkVersionLine(pending[..<newline])
      } else if !Array(AgeHeader.versionLine.utf8).starts(with: pending.prefix(AgeHeader.versionLine.count)) {
        try AgeHeader.checkVersionLine(pending[...])
      }
    }
    guard let length = AgeHeader.length(in: pending, scannedUpTo: &scanned) else {
      if pending.count >= AgeHeader.maxLength { throw AgeError.headerTooLarge(limit: AgeHeader.maxLength) }
      return accepted
    }
    let header = try AgeHeader.parse(Array(pending[..<length]))
    try unwrapFileKey(header)
    let consumed = length - before
    pending = []
    state = .nonce
    return consumed
  }

  private func unwrapFileKey(_ header: AgeHeader) throws {
    stanzaTypes = header.stanzas.map(\.type)
    let hasScrypt = stanzaTypes.contains("scrypt")
    if hasScrypt && header.stanzas.count > 1 {
      throw AgeError.invalidHeader("a scrypt stanza must be the only stanza in the header")
    }
    if hasScrypt && !identities.contains(where: { if case .scrypt = $0 { true } else { false } }) {
      throw AgeError.passphraseRequired
    }

    var key: [UInt8]?
    search: for identity in identities {
      for stanza in header.stanzas {
        if let unwrapped = try stanza.unwrap(with: identity) {
          key = unwrapped
          break search
        }
      }
    }
    guard let key, key.count == 16 else {
      throw AgeError.noMatchingIdentity(stanzaTypes: stanzaTypes, tried: identities.map(\.description))
    }
    let expected = try CryptoPrimitives.hmacSHA256(
      key: AgeHeader.macKey(fileKey: key), data: header.macInput)
    guard CryptoPrimitives.constantTimeEqual(expected, header.mac) else {
      throw AgeError.headerMACMismatch
    }
    fileKey = key
  }

  private func startPayload() throws {
    let payloadKey = try CryptoPrimitives.hkdfSHA256(
      key: fileKey, salt: pending, info: Array("payload".utf8))
    cipher = try ChaCha20Poly1305(key: payloadKey, encrypting: false)
    pending = []
    state = .payload
  }

  /// Authenticates and forwards the held chunk. A chunk that fails as a middle chunk but opens
  /// as the last one means bytes follow the end of the file.
  private func openHeldChunk(last: Bool) throws {
    let chunk = UnsafeRawBufferPointer(rebasing: sealed[0..<sealedCount])
    let index = Int(counter)
    guard try open(chunk, last: last) else {
      if !last, try open(chunk, last: true) { throw AgeError.trailingData(afterChunk: index) }
      if last, try open(chunk, last: false) { throw AgeError.missingFinalChunk(chunks: index + 1) }
      throw AgeError.chunkAuthenticationFailed(chunk: index)
    }
    let count = sealedCount - ChaCha20Poly1305.tagSize
    if last && count == 0 && counter > 0 { throw AgeError.emptyFinalChunk(chunk: index) }
    counter += 1
    sealedCount = 0
    try next.write(UnsafeRawBufferPointer(rebasing: plain[0..<count]))
  }

  private func open(_ chunk: UnsafeRawBufferPointer, last: Bool) throws -> Bool {
    var value = counter
    for index in stride(from: 10, through: 3, by: -1) {
      nonce[index] = UInt8(truncatingIfNeeded: value)
      value >>= 8
    }
    nonce[11] = last ? 1 : 0
    return nonce.withUnsafeBytes { nonceBytes in
      cipher!.open(chunk, nonce: nonceBytes, into: plain)
    }
  }
}
