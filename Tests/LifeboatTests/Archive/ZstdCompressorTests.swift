import Foundation
import Testing

@testable import Lifeboat

struct ZstdCompressorTests {
  typealias Fixtures = CompressionFixtures

  static let sizes = [0, 1, 131_072, 131_073, 3 * 1024 * 1024 + 17]

  @Test(arguments: sizes, [1, 2])
  func roundTrip(size: Int, threads: Int) throws {
    let input = Fixtures.mixed(count: size, seed: UInt64(size))
    let compressed = try Fixtures.compress(input, CompressionOptions(format: .zstd, threads: threads))

    #expect(try Fixtures.decompress(compressed, .zstd) == input)
    try Fixtures.withTemporaryDirectory { directory in
      let file = directory.appendingPathComponent("data.zst")
      try Data(compressed).write(to: file)
      let tested = try Fixtures.run("zstd", ["-q", "-t", file.path], in: directory)
      #expect(tested.status == 0)
      let decoded = try Fixtures.run("zstd", ["-q", "-dc", file.path], in: directory)
      #expect(decoded.status == 0)
      #expect(decoded.output == input)
    }
  }

  @Test func tarAccepts() throws {
    try Fixtures.withTemporaryDirectory { directory in
      let tree = directory.appendingPathComponent("tree")
      try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
      let notes = Fixtures.text(count: 300_000, seed: 1)
      try Data(notes).write(to: tree.appendingPathComponent("notes.txt"))
      let tarred = try Fixtures.run("tar", ["-cf", "-", "-C", directory.path, "tree"], in: directory)
      #expect(tarred.status == 0)

      let compressed = try Fixtures.compress(
        tarred.output, CompressionOptions(format: .zstd, level: 5, threads: 2))
      let archive = directory.appendingPathComponent("tree.tar.zst")
      try Data(compressed).write(to: archive)

      let restored = directory.appendingPathComponent("restored")
      try FileManager.default.createDirectory(at: restored, withIntermediateDirectories: true)
      let extracted = try Fixtures.run(
        "tar", ["--zstd", "-xf", archive.path, "-C", restored.path], in: directory)
      #expect(extracted.status == 0)
      let path = restored.appendingPathComponent("tree/notes.txt")
      #expect(try [UInt8](Data(contentsOf: path)) == notes)
    }
  }

  @Test func zstdOutputAccepted() throws {
    try Fixtures.withTemporaryDirectory { directory in
      let input = Fixtures.mixed(count: 400_000, seed: 9)
      let file = directory.appendingPathComponent("data")
      try Data(input).write(to: file)
      // Two frames, as `cat a.zst b.zst` makes them.
      let compressed = try Fixtures.run("zstd", ["-q", "-c", file.path, file.path], in: directory)
      #expect(compressed.status == 0)
      #expect(try Fixtures.decompress(compressed.output, .zstd) == input + input)
    }
  }

  @Test func invalidOptionsRejected() {
    for options in [
      CompressionOptions(format: .zstd, level: 0),
      CompressionOptions(format: .zstd, level: 20),
      CompressionOptions(format: .zstd, threads: 1_000),
    ] {
      #expect(throws: CompressionError.self, "\(options)") {
        _ = try Compression.makeCompressor(options, next: MemorySink())
      }
    }
  }

  @Test(arguments: [0.2, 0.5, 0.9])
  func corruptInputRejected(position: Double) throws {
    let input = Fixtures.mixed(count: 600_000, seed: 10)
    var compressed = try Fixtures.compress(input, CompressionOptions(format: .zstd))
    compressed[Int(Double(compressed.count) * position)] ^= 0x55
    #expect(throws: CompressionError.self) { try Fixtures.decompress(compressed, .zstd) }
  }

  @Test(arguments: [1, 4, 100_000])
  func truncatedInputRejected(removedBytes: Int) throws {
    let input = Fixtures.mixed(count: 600_000, seed: 10)
    let compressed = try Fixtures.compress(input, CompressionOptions(format: .zstd))
    let truncated = Array(compressed.dropLast(removedBytes))
    #expect(throws: CompressionError.self) { try Fixtures.decompress(truncated, .zstd) }
  }

  @Test func emptyInputRejected() throws {
    let decompressor = try Compression.makeDecompressor(.zstd, next: MemorySink())
    #expect(throws: CompressionError.self) { try decompressor.finish() }
  }

  @Test(.timeLimit(.minutes(1)), arguments: [1, 2])
  func sinkErrorPropagates(threads: Int) throws {
    let compressor = try ZstdCompressor(
      level: 3, threads: threads, next: FailingSink(limit: 100_000))
    let input = Fixtures.mixed(count: 4_000_000, seed: 6)

    #expect(throws: SinkFailure.self) {
      try Fixtures.write(input, to: compressor, pieceSize: 65_536)
      try compressor.finish()
    }
    #expect(throws: SinkFailure.self) { try compressor.write([1]) }
    #expect(throws: SinkFailure.self) { try compressor.finish() }
  }
}
