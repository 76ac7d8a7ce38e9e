import Foundation
import Testing

@testable import Lifeboat

/// A benchmark, not a unit test: it runs only when LIFEBOAT_BENCH_AGE is set, and prints how
/// fast 256 MiB go through the encryptor and the decryptor in 64 KiB writes, as the backup
/// pipeline feeds them.
struct AgeThroughputTests {
  @Test(.enabled(if: ProcessInfo.processInfo.environment["LIFEBOAT_BENCH_AGE"] != nil))
  func encryptAndDecrypt() throws {
    let total = 256 << 20
    let block = AgeFixtures.data(count: 64 << 10, seed: 5)
    let identity = try AgeIdentity.generate()
    let encryptor = try AgeEncryptor(recipients: [try identity.recipient()], next: DiscardingSink())
    var start = ContinuousClock.now
    for _ in 0..<(total / block.count) { try encryptor.write(block) }
    try encryptor.finish()
    let encrypting = ContinuousClock.now - start

    // Collecting is slow in a debug build, so the decryptor's input is made outside the timing.
    let sealed = ByteCollector()
    let collecting = try AgeEncryptor(recipients: [try identity.recipient()], next: sealed)
    for _ in 0..<(total / block.count) { try collecting.write(block) }
    try collecting.finish()

    let decryptor = AgeDecryptor(identities: [identity], next: DiscardingSink())
    start = ContinuousClock.now
    var offset = 0
    while offset < sealed.bytes.count {
      let end = min(offset + block.count, sealed.bytes.count)
      try sealed.bytes[offset..<end].withUnsafeBytes { try decryptor.write($0) }
      offset = end
    }
    try decryptor.finish()
    let decrypting = ContinuousClock.now - start

    func rate(_ duration: Duration) -> String {
      let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
      return String(format: "%.0f MiB/s", Double(total) / seconds / Double(1 << 20))
    }
    print("age encrypt: \(rate(encrypting)), decrypt: \(rate(decrypting)) (256 MiB in 64 KiB writes)")
  }
}
