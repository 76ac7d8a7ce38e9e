import Foundation
import Testing

@testable import Lifeboat

/// lifeboat's age reader and writer against the `age` command (Debian's age 1.1.1) both ways.
struct AgeInteropTests {
  static let sizes = [0, 1, AgeFixtures.chunk - 1, AgeFixtures.chunk, AgeFixtures.chunk + 1, 3 * AgeFixtures.chunk]

  @Test func specKeyPair() throws {
    // The X25519 identity and recipient printed in the age v1 specification.
    let identity = try AgeIdentity(
      parsing: "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX")
    #expect(try identity.recipient().description == "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj")
    #expect(identity.encoded == "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX")
  }

  @Test func identityFileMatchesAgeKeygen() throws {
    let work = try TemporaryDirectory("age-keyfile")
    let identity = try AgeIdentity.generate()
    let text = try identity.identityFileText(created: Date())
    try text.write(toFile: work.join("key.txt"), atomically: true, encoding: .utf8)
    let derived = try TestSupport.run("/usr/bin/age-keygen", ["-y", work.join("key.txt")])
    #expect(derived.status == 0, "\(derived.stderr)")
    #expect(derived.stdout == "\(try identity.recipient())\n")
    #expect(text.contains("# public key: \(try identity.recipient())\n"))

    let generated = try AgeFixtures.ageKeygen(in: work, name: "age-key.txt")
    let parsed = try AgeIdentity.parseFile(String(contentsOfFile: generated.path, encoding: .utf8), name: "age-key.txt")
    #expect(parsed.count == 1)
    #expect(try parsed[0].recipient().description == generated.recipient)
    #expect(try AgeRecipient(parsing: generated.recipient).description == generated.recipient)
  }

  @Test(arguments: sizes)
  func x25519DecryptsWithAge(size: Int) throws {
    let work = try TemporaryDirectory("age-x25519-out")
    let first = try AgeFixtures.ageKeygen(in: work, name: "first.txt")
    let second = try AgeFixtures.ageKeygen(in: work, name: "second.txt")
    let plaintext = AgeFixtures.data(count: size, seed: UInt64(size))
    let sealed = try AgeFixtures.encrypt(
      plaintext, to: [try AgeRecipient(parsing: first.recipient), try AgeRecipient(parsing: second.recipient)])
    try AgeFixtures.write(sealed, to: work.join("file.age"))

    for key in [first.path, second.path] {
      // Redirected, because age -o creates no file for an empty plaintext.
      let result = try TestSupport.shell("age -d -i '\(key)' '\(work.join("file.age"))' > '\(work.join("out"))'")
      #expect(result.status == 0, "\(result.stderr)")
      #expect(try AgeFixtures.read(work.join("out")) == plaintext)
    }
  }

  @Test(arguments: sizes)
  func ageFilesDecrypt(size: Int) throws {
    let work = try TemporaryDirectory("age-x25519-in")
    let key = try AgeFixtures.ageKeygen(in: work, name: "key.txt")
    let identities = try AgeIdentity.parseFile(String(contentsOfFile: key.path, encoding: .utf8), name: "key.txt")
    let plaintext = AgeFixtures.data(count: size, seed: UInt64(size) + 7)
    try AgeFixtures.write(plaintext, to: work.join("plain"))

    let byRecipient = try TestSupport.run(
      "/usr/bin/age", ["-r", key.recipient, "-o", work.join("r.age"), work.join("plain")])
    #expect(byRecipient.status == 0, "\(byRecipient.stderr)")
    let byIdentity = try TestSupport.run(
      "/usr/bin/age", ["-e", "-i", key.path, "-o", work.join("i.age"), work.join("plain")])
    #expect(byIdentity.status == 0, "\(byIdentity.stderr)")

    for name in ["r.age", "i.age"] {
      let sealed = try AgeFixtures.read(work.join(name))
      #expect(try AgeFixtures.decrypt(sealed, with: identities) == plaintext, "\(name)")
      #expect(try AgeFixtures.decrypt(sealed, with: identities, writeSize: 1) == plaintext, "\(name) byte by byte")
    }
  }

  @Test func scryptDecryptsWithAge() throws {
    let work = try TemporaryDirectory("age-scrypt-out")
    let plaintext = AgeFixtures.data(count: AgeFixtures.chunk + 100)
    let passphrase = Array("correct horse battery staple".utf8)
    let sealed = try AgeFixtures.encrypt(plaintext, to: [.scrypt(passphrase: passphrase, workFactor: 10)])
    try AgeFixtures.write(sealed, to: work.join("file.age"))
    #expect(String(decoding: sealed.prefix(40), as: UTF8.self).contains("-> scrypt "))

    let result = try AgeFixtures.onTerminal(
      "age -d -o '\(work.join("out"))' '\(work.join("file.age"))'", input: "correct horse battery staple\n")
    #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
    #expect(try AgeFixtures.read(work.join("out")) == plaintext)
  }

  @Test func agePassphraseFilesDecrypt() throws {
    let work = try TemporaryDirectory("age-scrypt-in")
    let plaintext = AgeFixtures.data(count: 2 * AgeFixtures.chunk)
    try AgeFixtures.write(plaintext, to: work.join("plain"))
    let result = try AgeFixtures.onTerminal(
      "age -p -o '\(work.join("file.age"))' '\(work.join("plain"))'", input: "open sesame\nopen sesame\n")
    #expect(result.status == 0, "\(result.stdout) \(result.stderr)")

    let sealed = try AgeFixtures.read(work.join("file.age"))
    let right = AgeIdentity.scrypt(passphrase: Array("open sesame".utf8), maxWorkFactor: 22)
    #expect(try AgeFixtures.decrypt(sealed, with: [right]) == plaintext)

    let wrong = AgeIdentity.scrypt(passphrase: Array("open sesame!".utf8), maxWorkFactor: 22)
    #expect(throws: AgeError.noMatchingIdentity(stanzaTypes: ["scrypt"], tried: ["a passphrase"])) {
      try AgeFixtures.decrypt(sealed, with: [wrong])
    }
    let capped = AgeIdentity.scrypt(passphrase: Array("open sesame".utf8), maxWorkFactor: 17)
    #expect(throws: AgeError.workFactorTooHigh(18, maximum: 17)) {
      try AgeFixtures.decrypt(sealed, with: [capped])
    }
  }
}
