import Foundation
import Testing

@testable import Lifeboat

/// Helpers for the age tests: in-memory encryption and decryption in uneven writes, the `age`
/// command, and deterministic test data.
enum AgeFixtures {
  static let chunk = AgeEncryptor.chunkSize

  /// Bytes that compress poorly, the same for the same `seed`.
  static func data(count: Int, seed: UInt64 = 1) -> [UInt8] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<count).map { _ in
      state ^= state << 13
      state ^= state >> 7
      state ^= state << 17
      return UInt8(truncatingIfNeeded: state)
    }
  }

  /// Encrypts `plaintext`, fed to the encryptor `writeSize` bytes at a time.
  static func encrypt(_ plaintext: [UInt8], to recipients: [AgeRecipient], writeSize: Int = 10_000) throws -> [UInt8] {
    let output = ByteCollector()
    let encryptor = try AgeEncryptor(recipients: recipients, next: output)
    try feed(plaintext, to: encryptor, writeSize: writeSize)
    return output.bytes
  }

  static func decrypt(_ sealed: [UInt8], with identities: [AgeIdentity], writeSize: Int = 10_000) throws -> [UInt8] {
    let output = ByteCollector()
    let decryptor = AgeDecryptor(identities: identities, next: output)
    try feed(sealed, to: decryptor, writeSize: writeSize)
    return output.bytes
  }

  static func feed(_ bytes: [UInt8], to sink: ByteSink, writeSize: Int) throws {
    var offset = 0
    while offset < bytes.count {
      let end = min(bytes.count, offset + writeSize)
      try bytes[offset..<end].withUnsafeBytes { try sink.write($0) }
      offset = end
    }
    try sink.finish()
  }

  /// Runs `age-keygen -o FILE` and returns the identity file's path and its recipient.
  static func ageKeygen(in directory: TemporaryDirectory, name: String) throws -> (path: String, recipient: String) {
    let path = directory.join(name)
    let result = try TestSupport.run("/usr/bin/age-keygen", ["-o", path])
    guard result.status == 0 else { throw TestFailure("age-keygen failed: \(result.stderr)") }
    let recipient = try TestSupport.run("/usr/bin/age-keygen", ["-y", path]).stdout
      .trimmingCharacters(in: .whitespacesAndNewlines)
    return (path, recipient)
  }

  static func write(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
  }

  static func read(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
  }

  /// Runs a command under `script`, typing `input` on its terminal: age reads passphrases only
  /// from a terminal, never from a pipe or the environment (age 1.1.1).
  static func onTerminal(_ command: String, input: String) throws -> ProcessResult {
    let quoted = command.replacingOccurrences(of: "'", with: "'\\''")
    let typed = input.replacingOccurrences(of: "'", with: "'\\''")
    return try TestSupport.shell("printf '%s' '\(typed)' | timeout 60 script -q -e -c '\(quoted)' /dev/null")
  }
}
