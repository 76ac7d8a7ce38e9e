import Foundation

@testable import Lifeboat

/// Collects everything written to it.
final class MemorySink: ByteSink {
  private(set) var bytes: [UInt8] = []
  private(set) var finishCount = 0

  func write(_ bytes: UnsafeRawBufferPointer) throws { self.bytes.append(contentsOf: bytes) }
  func finish() throws { finishCount += 1 }
}

struct SinkFailure: Error, Equatable {}

/// Accepts `limit` bytes, then throws `SinkFailure` from every `write`.
final class FailingSink: ByteSink {
  private let limit: Int
  private(set) var received = 0

  init(limit: Int) { self.limit = limit }

  func write(_ bytes: UnsafeRawBufferPointer) throws {
    received += bytes.count
    if received > limit { throw SinkFailure() }
  }

  func finish() throws {}
}

/// Test inputs, compression helpers and the command-line tools used as oracles.
enum CompressionFixtures {
  /// Returns `count` pseudo-random bytes from SplitMix64, the same for the same seed.
  static func randomBytes(count: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBytes { buffer in
      var offset = 0
      while offset < count {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        for shift in stride(from: 0, to: 64, by: 8) where offset < count {
          buffer[offset] = UInt8(truncatingIfNeeded: z >> UInt64(shift))
          offset += 1
        }
      }
    }
    return bytes
  }

  /// Returns `count` bytes of log-like text built from a few words, which deflate shrinks well.
  static func text(count: Int, seed: UInt64) -> [UInt8] {
    let words = [
      "backup", "restore", "archive", "manifest", "upload", "retry", "sqlite", "config", "level",
      "info", "warning", "error", "bucket", "object", "checksum", "thread", "block", "stream",
    ].map { Array($0.utf8) }
    let noise = randomBytes(count: count / 2 + 16, seed: seed)
    var bytes: [UInt8] = []
    bytes.reserveCapacity(count + 32)
    var index = 0
    while bytes.count < count {
      let pick = Int(noise[index % noise.count])
      bytes.append(contentsOf: words[pick % words.count])
      // A hex digit now and then keeps the text from being trivially repetitive.
      bytes.append(pick % 7 == 0 ? UInt8(ascii: "\n") : UInt8(ascii: " "))
      if pick % 5 == 0 { bytes.append(Array("0123456789abcdef".utf8)[pick % 16]) }
      index += 1
    }
    return Array(bytes.prefix(count))
  }

  /// Returns `count` bytes that cycle through text, random bytes and a repeating 0…255
  /// sequence in spans of 8 to 56 KiB, so blocks mix every kind the compressor distinguishes.
  static func mixed(count: Int, seed: UInt64) -> [UInt8] {
    let spanLengths = [40_000, 57_000, 8_200, 23_000, 31_000, 12_500]
    var bytes: [UInt8] = []
    bytes.reserveCapacity(count)
    var span = 0
    while bytes.count < count {
      let length = min(spanLengths[span % spanLengths.count], count - bytes.count)
      switch span % 3 {
      case 0: bytes += text(count: length, seed: seed &+ UInt64(span))
      case 1: bytes += randomBytes(count: length, seed: seed &+ UInt64(span))
      default: bytes += (0..<length).map { UInt8(truncatingIfNeeded: $0) }
      }
      span += 1
    }
    return bytes
  }

  /// Compresses `input` through the factory, writing it in pieces of `pieceSize` bytes.
  static func compress(
    _ input: [UInt8], _ options: CompressionOptions, pieceSize: Int = 7_001
  ) throws -> [UInt8] {
    let sink = MemorySink()
    let compressor = try Compression.makeCompressor(options, next: sink)
    try write(input, to: compressor, pieceSize: pieceSize)
    try compressor.finish()
    return sink.bytes
  }

  static func decompress(_ input: [UInt8], _ format: CompressionFormat) throws -> [UInt8] {
    let sink = MemorySink()
    let decompressor = try Compression.makeDecompressor(format, next: sink)
    try write(input, to: decompressor, pieceSize: 5_003)
    try decompressor.finish()
    return sink.bytes
  }

  static func write(_ input: [UInt8], to sink: ByteSink, pieceSize: Int) throws {
    var offset = 0
    repeat {
      let end = min(offset + pieceSize, input.count)
      try input[offset..<end].withUnsafeBytes { try sink.write($0) }
      offset = end
    } while offset < input.count
  }

  /// Creates a fresh temporary directory, runs `body` with it and removes it afterwards.
  static func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("lifeboat-compression-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory)
  }

  /// Runs `command` with `arguments`, found on PATH, with stdout sent to a file in
  /// `directory`, and returns its exit status and stdout.
  static func run(_ command: String, _ arguments: [String], in directory: URL) throws
    -> (status: Int32, output: [UInt8])
  {
    let outputURL = directory.appendingPathComponent("stdout-\(UUID().uuidString)")
    guard FileManager.default.createFile(atPath: outputURL.path, contents: nil) else {
      throw CocoaError(.fileWriteUnknown)
    }
    let outputHandle = try FileHandle(forWritingTo: outputURL)
    defer { try? FileManager.default.removeItem(at: outputURL) }

    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [command] + arguments
    process.currentDirectoryURL = directory
    process.standardOutput = outputHandle
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    try outputHandle.close()
    let output = try [UInt8](Data(contentsOf: outputURL))
    return (process.terminationStatus, output)
  }
}
