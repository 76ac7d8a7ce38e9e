import CZstd

/// Decompresses a zstd stream, including several concatenated frames as `zstd -d` accepts them,
/// and rejects corrupt or truncated input.
///
/// Frames that carry a content checksum are verified. Windows up to libzstd's default limit of
/// 128 MiB (`ZSTD_d_windowLogMax` 27) are accepted, the same limit as the zstd command.
final class ZstdDecompressor: ByteSink {
  private let context: OpaquePointer
  private let next: ByteSink
  private let output: UnsafeMutableRawBufferPointer
  private var sawInput = false
  /// True when the last decoded byte ended a frame, so the stream may end here.
  private var isAtFrameEnd = false

  init(next: ByteSink) throws {
    guard let context = ZSTD_createDCtx() else {
      throw CompressionError("ZSTD_createDCtx failed: out of memory")
    }
    self.context = context
    self.next = next
    output = .allocate(byteCount: ZSTD_DStreamOutSize(), alignment: 16)
  }

  deinit {
    ZSTD_freeDCtx(context)
    output.deallocate()
  }

  func write(_ bytes: UnsafeRawBufferPointer) throws {
    guard bytes.count > 0 else { return }
    sawInput = true
    var input = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
    while true {
      var out = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
      let consumedBefore = input.pos
      let result = ZSTD_decompressStream(context, &out, &input)
      if ZSTD_isError(result) != 0 {
        throw CompressionError("corrupt zstd data: \(String(cString: ZSTD_getErrorName(result)))")
      }
      if out.pos > 0 {
        try next.write(UnsafeRawBufferPointer(rebasing: output[0..<out.pos]))
      }
      // After a frame ends on a full output buffer, the next call reads and writes nothing and
      // returns the header size of a possible next frame. No frame is open then.
      if result == 0 || input.pos > consumedBefore || out.pos > 0 {
        isAtFrameEnd = result == 0
      }
      // A full output buffer may leave decoded bytes inside libzstd, so call again.
      if input.pos == input.size && out.pos < out.size { break }
    }
  }

  func finish() throws {
    guard sawInput else { throw CompressionError("empty input: not a zstd stream") }
    guard isAtFrameEnd else {
      throw CompressionError("truncated zstd data: the stream ends inside a frame")
    }
    try next.finish()
  }
}
