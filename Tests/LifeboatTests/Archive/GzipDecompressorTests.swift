import Foundation
import Testing

@testable import Lifeboat

struct GzipDecompressorTests {
  typealias Fixtures = CompressionFixtures

  static func compressedSample() throws -> (input: [UInt8], compressed: [UInt8]) {
    let input = Fixtures.mixed(count: 600_000, seed: 11)
    return (input, try Fixtures.compress(input, CompressionOptions(format: .gzip, threads: 2)))
  }

  @Test func concatenatedMembersAccepted() throws {
    let first = Fixtures.text(count: 5_000, seed: 1)
    let second = Fixtures.randomBytes(count: 300_000, seed: 2)
    let options = CompressionOptions(format: .gzip)
    let joined = try Fixtures.compress(first, options) + Fixtures.compress(second, options)
    #expect(try Fixtures.decompress(joined, .gzip) == first + second)
  }

  @Test(arguments: [0.1, 0.5, 0.9])
  func corruptInputRejected(position: Double) throws {
    var (_, compressed) = try Self.compressedSample()
    compressed[Int(Double(compressed.count) * position)] ^= 0x55
    #expect(throws: CompressionError.self) { try Fixtures.decompress(compressed, .gzip) }
  }

  @Test func corruptTrailerRejected() throws {
    var (_, compressed) = try Self.compressedSample()
    compressed[compressed.count - 6] ^= 1
    #expect(throws: CompressionError.self) { try Fixtures.decompress(compressed, .gzip) }
  }

  @Test(arguments: [1, 4, 8, 300_000])
  func truncatedInputRejected(removedBytes: Int) throws {
    let (_, compressed) = try Self.compressedSample()
    let truncated = Array(compressed.dropLast(removedBytes))
    #expect(throws: CompressionError.self) { try Fixtures.decompress(truncated, .gzip) }
  }

  @Test func emptyInputRejected() throws {
    let decompressor = try Compression.makeDecompressor(.gzip, next: MemorySink())
    #expect(throws: CompressionError.self) { try decompressor.finish() }
  }

  @Test func trailingGarbageRejected() throws {
    let (_, compressed) = try Self.compressedSample()
    #expect(throws: CompressionError.self) {
      try Fixtures.decompress(compressed + Array("garbage".utf8), .gzip)
    }
  }
}
