import Testing

@testable import Lifeboat

/// Unpadded base64 and Bech32, the two text encodings of age keys and headers.
struct AgeEncodingTests {
  @Test func base64RoundTrips() {
    for count in 0..<70 {
      let bytes = AgeFixtures.data(count: count, seed: UInt64(count) + 3)
      let text = AgeBase64.encode(bytes)
      #expect(!text.contains("="))
      #expect(AgeBase64.decode(text.utf8) == bytes)
    }
  }

  @Test func base64RejectsNonCanonical() {
    #expect(AgeBase64.decode("AA".utf8) == [0])
    #expect(AgeBase64.decode("AB".utf8) == nil, "unused bits set")
    #expect(AgeBase64.decode("AA==".utf8) == nil, "padding")
    #expect(AgeBase64.decode("A".utf8) == nil, "impossible length")
    #expect(AgeBase64.decode("A-_A".utf8) == nil, "URL-safe alphabet")
  }

  @Test func bech32RoundTripsAndChecks() throws {
    let key = AgeFixtures.data(count: 32, seed: 9)
    let text = Bech32.encode(hrp: "age", data: key)
    #expect(text.hasPrefix("age1"))
    #expect(try Bech32.decode(text).data == key)
    #expect(try Bech32.decode(text.uppercased()).data == key)

    var characters = Array(text)
    characters[10] = characters[10] == "q" ? "p" : "q"
    #expect(throws: Bech32.DecodingError.invalidChecksum) { try Bech32.decode(String(characters)) }
    let mixed = "A" + text.dropFirst()
    #expect(throws: Bech32.DecodingError.mixedCase) { try Bech32.decode(String(mixed)) }
    #expect(throws: Bech32.DecodingError.invalidCharacter) { try Bech32.decode("age1bbbbbbbb") }
  }

  @Test func keysRejectWrongKind() throws {
    let identity = try AgeIdentity.generate()
    let recipient = try identity.recipient().description
    #expect(throws: AgeError.self) { try AgeIdentity(parsing: recipient) }
    #expect(throws: AgeError.self) { try AgeRecipient(parsing: identity.encoded!) }
    #expect(throws: AgeError.self) { try AgeRecipient(parsing: Bech32.encode(hrp: "age", data: [1, 2, 3])) }
    #expect(throws: AgeError.self) { try AgeIdentity.parseFile("# only a comment\n", name: "k") }
  }

  @Test func identityErrorsHideTheLine() throws {
    let secret = try AgeIdentity.generate().encoded!
    let damaged = String(secret.dropLast()) + (secret.hasSuffix("Q") ? "P" : "Q")
    do {
      _ = try AgeIdentity.parseFile("# created: now\n\(damaged)\n", name: "key.txt")
      Issue.record("a damaged identity was accepted")
    } catch {
      #expect("\(error)".contains("key.txt line 2"))
      #expect(!"\(error)".contains(String(damaged.dropFirst(16).prefix(20))))
    }
  }
}
