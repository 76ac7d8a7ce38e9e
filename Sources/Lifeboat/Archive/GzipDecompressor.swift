import CZlib

private let outputChunkSize = 256 * 1024

/// Decompresses a gzip stream, including several concatenated gzip members as `gzip -d`
/// accepts them, and rejects corrupt or truncated input.
final class GzipDecompressor: ByteSink {
  private var stream = z_stream()
  private let next: ByteSink
  private var output = [UInt8](repeating: 0, count: outputChunkSize)
  /// True between members: the previous member ended and no byte of the next one arrived.
  private var atMemberBoundary = false
  private var sawInput = false

  init(next: ByteSink) throws {
    self.next = next
    let status = lb_inflate_init2(&stream, 15 + 16)
    guard status == Z_OK else { throw CompressionError("inflateInit2 failed with status \(status)") }
  }

  deinit { inflateEnd(&stream) }

  func write(_ bytes: UnsafeRawBufferPointer) throws {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return }
    sawInput = true
    stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
    stream.avail_in = uInt(bytes.count)
    while stream.avail_in > 0 {
      if atMemberBoundary {
        inflateReset(&stream)
        atMemberBoundary = false
      }
      let (status, produced) = output.withUnsafeMutableBytes { buffer -> (Int32, Int) in
        stream.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.avail_out = uInt(buffer.count)
        let status = inflate(&stream, Z_NO_FLUSH)
        return (status, buffer.count - Int(stream.avail_out))
      }
      if produced > 0 {
        try output.withUnsafeBytes { try next.write(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) }
      }
      switch status {
      case Z_STREAM_END:
        atMemberBoundary = true
      case Z_OK, Z_BUF_ERROR:
        continue
      default:
        let detail = stream.msg.map { String(cString: $0) } ?? "status \(status)"
        throw CompressionError("corrupt gzip data: \(detail)")
      }
    }
  }

  func finish() throws {
    guard sawInput else { throw CompressionError("empty input: not a gzip stream") }
    guard atMemberBoundary else {
      throw CompressionError("truncated gzip data: the stream ends before its trailer")
    }
    try next.finish()
  }
}
