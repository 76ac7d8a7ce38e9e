import Foundation
import Testing

@testable import Lifeboat

/// Writes its input to a file.
final class FileSink: ByteSink {
  private let handle: FileHandle

  init(url: URL) throws {
    guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
      throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
    }
    handle = try FileHandle(forWritingTo: url)
  }

  func write(_ bytes: UnsafeRawBufferPointer) throws { try handle.write(contentsOf: bytes) }
  func finish() throws { try handle.close() }
}

/// A benchmark, not a unit test: it runs only when LIFEBOAT_BENCH_INPUT names a file, and
/// scripts/bench-compression runs it in a release build and compares it with pigz and zstd.
struct CompressionBenchmarkTests {
  static let environment = ProcessInfo.processInfo.environment

  /// Compresses LIFEBOAT_BENCH_INPUT into LIFEBOAT_BENCH_OUTPUT and prints the wall time.
  /// LIFEBOAT_BENCH_FORMAT is gzip, zstd or none (a plain copy, for the baseline);
  /// LIFEBOAT_BENCH_LEVEL and LIFEBOAT_BENCH_THREADS set the options.
  @Test(.enabled(if: environment["LIFEBOAT_BENCH_INPUT"] != nil))
  func compressFile() throws {
    let input = URL(fileURLWithPath: Self.environment["LIFEBOAT_BENCH_INPUT"]!)
    let output = URL(
      fileURLWithPath: Self.environment["LIFEBOAT_BENCH_OUTPUT"] ?? input.path + ".bench")
    let formatName = Self.environment["LIFEBOAT_BENCH_FORMAT"] ?? "gzip"
    let level = Self.environment["LIFEBOAT_BENCH_LEVEL"].flatMap { Int($0) }
    let threads = Self.environment["LIFEBOAT_BENCH_THREADS"].flatMap { Int($0) } ?? 2

    let start = ContinuousClock.now
    let file = try FileSink(url: output)
    let sink: ByteSink
    if let format = CompressionFormat(rawValue: formatName) {
      let options = CompressionOptions(format: format, level: level, threads: threads)
      sink = try Compression.makeCompressor(options, next: file)
    } else {
      sink = file
    }

    let reader = try FileHandle(forReadingFrom: input)
    defer { try? reader.close() }
    var inputLength = 0
    while let chunk = try reader.read(upToCount: 1 << 20), !chunk.isEmpty {
      inputLength += chunk.count
      try chunk.withUnsafeBytes { try sink.write($0) }
    }
    try sink.finish()

    let elapsed = ContinuousClock.now - start
    let outputLength = try FileManager.default.attributesOfItem(atPath: output.path)[.size] ?? 0
    print(
      "benchmark format=\(formatName) level=\(level.map(String.init) ?? "default")",
      "threads=\(threads) input=\(inputLength) output=\(outputLength) wall=\(elapsed)")
  }
}
