import Foundation
import Testing

import Lifeboat

/// A benchmark, not a unit test: it runs only when LIFEBOAT_BENCH_SHA256_INPUT names a file.
/// scripts/bench runs it in a release build and compares its throughput with
/// `openssl dgst -sha256` on the same file.
struct SHA256BenchmarkTests {
  static let environment = ProcessInfo.processInfo.environment

  /// Hashes LIFEBOAT_BENCH_SHA256_INPUT and prints its size, the time taken and the digest.
  ///
  /// The loop reads 1 MiB at a time into one reused buffer and feeds `SHA256Hasher`, as the
  /// backup does for every file larger than 1 MiB, so the figure is the backup's hashing rate
  /// without compression and storage.
  @Test(.enabled(if: environment["LIFEBOAT_BENCH_SHA256_INPUT"] != nil))
  func hashFile() throws {
    let path = Self.environment["LIFEBOAT_BENCH_SHA256_INPUT"]!
    let start = ContinuousClock.now
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw TestFailure("cannot open \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))

    let hasher = SHA256Hasher()
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    var total = 0
    while true {
      let count = buffer.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      guard count >= 0 else { throw TestFailure("cannot read \(path): \(String(cString: strerror(errno)))") }
      if count == 0 { break }
      buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
      total += count
    }
    let digest = hasher.finalize().hexString
    let elapsed = ContinuousClock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    print("sha256-benchmark bytes=\(total) seconds=\(seconds) digest=\(digest)")
  }
}
