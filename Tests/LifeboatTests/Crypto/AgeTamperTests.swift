import Foundation
import Testing

@testable import Lifeboat

/// Damage, truncation and wrong keys: every one must fail, and no unauthenticated byte may
/// reach the next sink.
struct AgeTamperTests {
  static let identity = try! AgeIdentity.generate()
  static let chunk = AgeFixtures.chunk
  static let sealedChunk = AgeEncryptor.sealedChunkSize
  /// Three full chunks and a short final one.
  static let plaintext = AgeFixtures.data(count: 3 * chunk + 500, seed: 42)

  static func sealed(_ plaintext: [UInt8] = plaintext) throws -> (bytes: [UInt8], headerLength: Int) {
    let bytes = try AgeFixtures.encrypt(plaintext, to: [try identity.recipient()])
    var scanned = 0
    let headerLength = try #require(AgeHeader.length(in: bytes, scannedUpTo: &scanned))
    return (bytes, headerLength)
  }

  /// Decrypts into a collector and returns what it received besides the error.
  static func attempt(_ bytes: [UInt8], identities: [AgeIdentity] = [identity]) -> (output: [UInt8], error: Error?) {
    let output = ByteCollector()
    let decryptor = AgeDecryptor(identities: identities, next: output)
    do {
      try AgeFixtures.feed(bytes, to: decryptor, writeSize: 8192)
      return (output.bytes, nil)
    } catch {
      return (output.bytes, error)
    }
  }

  @Test func everyHeaderByteFlipIsDetected() throws {
    let (bytes, headerLength) = try Self.sealed()
    for position in 0..<headerLength {
      var damaged = bytes
      damaged[position] ^= 0x01
      let result = Self.attempt(damaged)
      #expect(result.error != nil, "flip at header byte \(position) went unnoticed")
      #expect(result.output.isEmpty, "flip at header byte \(position) let plaintext through")
    }
  }

  @Test func headerMACFlipNamesTheMAC() throws {
    let (bytes, headerLength) = try Self.sealed()
    var damaged = bytes
    // The MAC line's base64 ends 1 byte before the header's final LF.
    damaged[headerLength - 2] = damaged[headerLength - 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
    let result = Self.attempt(damaged)
    // A changed last base64 character can also make the encoding non-canonical.
    let error = try #require(result.error as? AgeError)
    #expect(error == .headerMACMismatch || error == .invalidHeader("the MAC line is not '--- ' and 43 base64 characters"))
  }

  @Test(arguments: [
    (16 + 10, 0), (16 + sealedChunk + sealedChunk / 2, 1), (16 + 3 * sealedChunk - 1, 2),
    (16 + 3 * sealedChunk + 3, 3), (3, 0),
  ])
  func payloadFlipIsDetected(offset: Int, chunk: Int) throws {
    let (bytes, headerLength) = try Self.sealed()
    var damaged = bytes
    damaged[headerLength + offset] ^= 0x80
    let result = Self.attempt(damaged)
    #expect(result.error as? AgeError == .chunkAuthenticationFailed(chunk: chunk))
    // Chunks before the damaged one are released, never the damaged one or any later.
    #expect(result.output == Array(Self.plaintext.prefix(chunk * Self.chunk)))
  }

  @Test func lastByteFlipIsDetected() throws {
    var (bytes, _) = try Self.sealed()
    bytes[bytes.count - 1] ^= 0x01
    #expect(Self.attempt(bytes).error as? AgeError == .chunkAuthenticationFailed(chunk: 3))
  }

  @Test func truncationAtChunkBoundary() throws {
    let (bytes, headerLength) = try Self.sealed()
    for chunks in 1...3 {
      let cut = Array(bytes.prefix(headerLength + 16 + chunks * Self.sealedChunk))
      let result = Self.attempt(cut)
      #expect(result.error as? AgeError == .missingFinalChunk(chunks: chunks))
      #expect(result.output.count == (chunks - 1) * Self.chunk)
    }

    // The age command agrees that such a file is truncated.
    let work = try TemporaryDirectory("age-truncated")
    try AgeFixtures.write(Array(bytes.prefix(headerLength + 16 + 2 * Self.sealedChunk)), to: work.join("cut.age"))
    try AgeFixtures.write(Array((try Self.identity.identityFileText(created: Date())).utf8), to: work.join("key.txt"))
    let age = try TestSupport.shell("age -d -i '\(work.join("key.txt"))' '\(work.join("cut.age"))' > /dev/null")
    #expect(age.status != 0)
  }

  @Test func truncationElsewhere() throws {
    let (bytes, headerLength) = try Self.sealed()
    let cases: [(Int, AgeError)] = [
      (0, .notAgeFile),
      (10, .truncatedHeader),
      (headerLength - 1, .truncatedHeader),
      (headerLength, .truncatedPayload(chunks: 0)),
      (headerLength + 15, .truncatedPayload(chunks: 0)),
      (headerLength + 16, .truncatedPayload(chunks: 0)),
      (headerLength + 16 + Self.sealedChunk + 15, .truncatedPayload(chunks: 1)),
      (headerLength + 16 + 100, .chunkAuthenticationFailed(chunk: 0)),
      (bytes.count - 1, .chunkAuthenticationFailed(chunk: 3)),
    ]
    for (length, expected) in cases {
      #expect(Self.attempt(Array(bytes.prefix(length))).error as? AgeError == expected, "cut at \(length)")
    }
  }

  @Test func trailingDataIsRejected() throws {
    let (bytes, _) = try Self.sealed(Array(Self.plaintext.prefix(2 * Self.chunk)))
    #expect(Self.attempt(bytes).error == nil)
    #expect(Self.attempt(bytes + [0]).error as? AgeError == .trailingData(afterChunk: 1))
  }

  @Test func emptyPlaintextRoundTrips() throws {
    let (bytes, headerLength) = try Self.sealed([])
    #expect(bytes.count == headerLength + 16 + 16)
    let result = Self.attempt(bytes)
    #expect(result.error == nil)
    #expect(result.output.isEmpty)
  }

  @Test func wrongKeyNamesWhatWasTried() throws {
    let (bytes, _) = try Self.sealed()
    let other = try AgeIdentity.generate()
    let result = Self.attempt(bytes, identities: [other])
    let error = try #require(result.error as? AgeError)
    #expect(error == .noMatchingIdentity(stanzaTypes: ["X25519"], tried: [try other.recipient().description]))
    #expect(error.description.contains(try other.recipient().description))
    #expect(!error.description.contains("error:"), "no libcrypto error text")
    #expect(result.output.isEmpty)
    #expect(Self.attempt(bytes, identities: []).error as? AgeError == .noMatchingIdentity(stanzaTypes: ["X25519"], tried: []))
  }

  @Test func secondIdentityIsTried() throws {
    let (bytes, _) = try Self.sealed()
    let result = Self.attempt(bytes, identities: [try AgeIdentity.generate(), Self.identity])
    #expect(result.error == nil)
    #expect(result.output == Self.plaintext)
  }

  @Test func scryptMustStandAlone() throws {
    let passphrase = AgeRecipient.scrypt(passphrase: Array("pw".utf8), workFactor: 10)
    #expect(throws: AgeError.scryptNotAlone) {
      try AgeFixtures.encrypt([1, 2, 3], to: [passphrase, try Self.identity.recipient()])
    }

    // A header that mixes them anyway is rejected before any key is tried.
    let fileKey = [UInt8](repeating: 7, count: 16)
    let stanzas = [
      try passphrase.makeStanza(fileKey: fileKey), try Self.identity.recipient().makeStanza(fileKey: fileKey),
    ]
    let header = try AgeHeader.encode(stanzas: stanzas, fileKey: fileKey)
    let result = Self.attempt(header + [UInt8](repeating: 0, count: 40))
    #expect(result.error as? AgeError == .invalidHeader("a scrypt stanza must be the only stanza in the header"))
  }

  @Test func passphraseRequiredForScrypt() throws {
    let sealed = try AgeFixtures.encrypt([1, 2, 3], to: [.scrypt(passphrase: Array("pw".utf8), workFactor: 10)])
    #expect(Self.attempt(sealed).error as? AgeError == .passphraseRequired)
    let right = AgeIdentity.scrypt(passphrase: Array("pw".utf8), maxWorkFactor: 22)
    #expect(Self.attempt(sealed, identities: [right]).output == [1, 2, 3])
  }

  @Test func foreignInputIsNamed() {
    #expect(Self.attempt(Array("-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n".utf8)).error as? AgeError == .armored)
    #expect(Self.attempt(Array("age-encryption.org/v2\n".utf8)).error as? AgeError == .unsupportedVersion("v2"))
    #expect(Self.attempt([0x1f, 0x8b, 0x08, 0x00] + [UInt8](repeating: 0, count: 100)).error as? AgeError == .notAgeFile)
  }
}
