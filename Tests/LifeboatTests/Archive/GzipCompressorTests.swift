import Foundation
import Testing

@testable import Lifeboat

struct GzipCompressorTests {
  typealias Fixtures = CompressionFixtures

  static let block = GzipCompressor.defaultBlockSize
  static let sizes = [0, 1, block, block + 1, 3 * 1024 * 1024 + 17]

  @Test(arguments: sizes, [1, 3])
  func roundTrip(size: Int, threads: Int) throws {
    let input = Fixtures.mixed(count: size, seed: UInt64(size))
    let options = CompressionOptions(format: .gzip, threads: threads)
    let compressed = try Fixtures.compress(input, options)

    #expect(try Fixtures.decompress(compressed, .gzip) == input)
    try Fixtures.withTemporaryDirectory { directory in
      let file = directory.appendingPathComponent("data.gz")
      try Data(compressed).write(to: file)
      let tested = try Fixtures.run("gzip", ["-t", file.path], in: directory)
      #expect(tested.status == 0)
      let decoded = try Fixtures.run("gzip", ["-dc", file.path], in: directory)
      #expect(decoded.status == 0)
      #expect(decoded.output == input)
    }
  }

  @Test func pigzAndTarAccept() throws {
    try Fixtures.withTemporaryDirectory { directory in
      let tree = directory.appendingPathComponent("tree")
      try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
      let files = [
        "notes.txt": Fixtures.text(count: 300_000, seed: 1),
        "blob.bin": Fixtures.randomBytes(count: 200_000, seed: 2),
        "empty": [],
      ]
      for (name, bytes) in files {
        try Data(bytes).write(to: tree.appendingPathComponent(name))
      }
      let tarred = try Fixtures.run("tar", ["-cf", "-", "-C", directory.path, "tree"], in: directory)
      #expect(tarred.status == 0)

      let compressed = try Fixtures.compress(
        tarred.output, CompressionOptions(format: .gzip, threads: 2))
      let archive = directory.appendingPathComponent("tree.tar.gz")
      try Data(compressed).write(to: archive)

      let pigz = try Fixtures.run("pigz", ["-dc", archive.path], in: directory)
      #expect(pigz.status == 0)
      #expect(pigz.output == tarred.output)

      let restored = directory.appendingPathComponent("restored")
      try FileManager.default.createDirectory(at: restored, withIntermediateDirectories: true)
      let extracted = try Fixtures.run("tar", ["-xzf", archive.path, "-C", restored.path], in: directory)
      #expect(extracted.status == 0)
      for (name, bytes) in files {
        let path = restored.appendingPathComponent("tree").appendingPathComponent(name)
        #expect(try [UInt8](Data(contentsOf: path)) == bytes, "\(name)")
      }
    }
  }

  @Test func identicalAcrossThreadCounts() throws {
    let input = Fixtures.mixed(count: 1_500_000, seed: 7)
    let single = try Fixtures.compress(input, CompressionOptions(format: .gzip, threads: 1))
    for threads in [2, 4] {
      let parallel = try Fixtures.compress(input, CompressionOptions(format: .gzip, threads: threads))
      #expect(parallel == single, "threads \(threads)")
    }
  }

  @Test(arguments: [1, 6, 9])
  func sizeCloseToGzip(level: Int) throws {
    let input = Fixtures.text(count: 1_000_000, seed: 3) + Fixtures.mixed(count: 1_000_000, seed: 4)
    let compressed = try Fixtures.compress(
      input, CompressionOptions(format: .gzip, level: level, threads: 2))
    #expect(try Fixtures.decompress(compressed, .gzip) == input)

    try Fixtures.withTemporaryDirectory { directory in
      let file = directory.appendingPathComponent("data")
      try Data(input).write(to: file)
      let reference = try Fixtures.run("gzip", ["-\(level)", "-c", file.path], in: directory)
      #expect(reference.status == 0)
      #expect(Double(compressed.count) <= Double(reference.output.count) * 1.01)
    }
  }

  @Test func randomDataStored() throws {
    let input = Fixtures.randomBytes(count: 1_000_000, seed: 5)
    let compressed = try Fixtures.compress(input, CompressionOptions(format: .gzip, threads: 2))

    // 10 header bytes, then a 5-byte stored block header, then the input itself.
    #expect(Array(compressed[15..<1_015]) == Array(input[0..<1_000]))
    let overhead = compressed.count - input.count
    #expect(overhead < 1_000)
  }

  @Test func invalidOptionsRejected() {
    for options in [
      CompressionOptions(format: .gzip, level: 0),
      CompressionOptions(format: .gzip, level: 10),
      CompressionOptions(format: .gzip, threads: 1_000),
    ] {
      #expect(throws: CompressionError.self, "\(options)") {
        _ = try Compression.makeCompressor(options, next: MemorySink())
      }
    }
  }

  @Test func writeAfterFinishRejected() throws {
    let sink = MemorySink()
    let compressor = try Compression.makeCompressor(CompressionOptions(threads: 2), next: sink)
    try compressor.write([1, 2, 3])
    try compressor.finish()
    try compressor.finish()
    #expect(sink.finishCount == 1)
    #expect(throws: CompressionError.self) { try compressor.write([4]) }
  }

  @Test(.timeLimit(.minutes(1)), arguments: [1, 3])
  func sinkErrorPropagates(threads: Int) throws {
    let sink = FailingSink(limit: 100_000)
    let compressor = try GzipCompressor(level: 6, threads: threads, next: sink)
    let input = Fixtures.mixed(count: 4_000_000, seed: 6)

    #expect(throws: SinkFailure.self) {
      try Fixtures.write(input, to: compressor, pieceSize: 65_536)
      try compressor.finish()
    }
    #expect(throws: SinkFailure.self) { try compressor.write([1]) }
    #expect(throws: SinkFailure.self) { try compressor.finish() }
    #expect(compressor.workerPool?.activeWorkerCount ?? 0 == 0)
  }

  @Test(.timeLimit(.minutes(1)))
  func abandonedCompressorStopsWorkers() throws {
    var compressor: GzipCompressor? = try GzipCompressor(level: 6, threads: 4, next: MemorySink())
    let pool = try #require(compressor?.workerPool)
    try Fixtures.write(Fixtures.mixed(count: 2_000_000, seed: 8), to: compressor!, pieceSize: 65_536)
    #expect(pool.activeWorkerCount == 4)

    compressor = nil
    #expect(pool.activeWorkerCount == 0)
  }
}
