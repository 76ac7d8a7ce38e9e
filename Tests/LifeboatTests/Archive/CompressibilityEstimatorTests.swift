import Testing

@testable import Lifeboat

struct CompressibilityEstimatorTests {
  typealias Fixtures = CompressionFixtures

  static func runs(_ bytes: [UInt8], blockStart: Int = 0) -> [DeflateRun] {
    var estimator = CompressibilityEstimator()
    return bytes.withUnsafeBytes { estimator.runs(in: $0, blockStart: blockStart) }
  }

  @Test func randomDataStored() {
    let bytes = Fixtures.randomBytes(count: 131_072, seed: 1)
    #expect(Self.runs(bytes) == [DeflateRun(range: 0..<131_072, isStored: true)])
  }

  @Test func textDeflated() {
    let bytes = Fixtures.text(count: 100_000, seed: 2)
    #expect(Self.runs(bytes) == [DeflateRun(range: 0..<100_000, isStored: false)])
  }

  @Test func emptyBlockHasNoRuns() {
    #expect(Self.runs(Fixtures.text(count: 1_000, seed: 2), blockStart: 1_000).isEmpty)
  }

  @Test func flatHistogramRepeatDeflated() {
    // Every byte value occurs equally often, yet the data repeats with period 256.
    let bytes = (0..<65_536).map { UInt8(truncatingIfNeeded: $0) }
    #expect(CompressibilityEstimator.entropy(of: bytes.withUnsafeBytes { $0 }) > 7.99)
    #expect(Self.runs(bytes) == [DeflateRun(range: 0..<65_536, isStored: false)])
  }

  @Test func repeatWithinWindowDeflated() {
    // The block repeats random bytes from its history, which deflate can refer to.
    let history = Fixtures.randomBytes(count: 20_000, seed: 3)
    let block = history + Fixtures.randomBytes(count: 12_768, seed: 4)
    let runs = Self.runs(history + block, blockStart: history.count)
    #expect(runs == [DeflateRun(range: 20_000..<52_768, isStored: false)])
  }

  @Test func mixedBlockSplit() {
    let chunk = CompressibilityEstimator.chunkSize
    let bytes =
      Fixtures.text(count: chunk, seed: 5) + Fixtures.randomBytes(count: 2 * chunk, seed: 6)
      + Fixtures.text(count: chunk, seed: 7)
    #expect(
      Self.runs(bytes) == [
        DeflateRun(range: 0..<chunk, isStored: false),
        DeflateRun(range: chunk..<3 * chunk, isStored: true),
        DeflateRun(range: 3 * chunk..<4 * chunk, isStored: false),
      ])
  }
}
