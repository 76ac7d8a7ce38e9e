import CZlib

/// Encodes blocks of one gzip stream as raw deflate that concatenates into a single stream, as
/// pigz does.
///
/// Each block is deflated on its own, with the 32 KiB before it as preset dictionary, so the
/// compression ratio stays close to that of a single deflate pass. A block that is not the last
/// ends with a sync flush (an empty stored block), which leaves the output at a byte boundary.
/// The last block ends with a final deflate block. Spans that `CompressibilityEstimator` finds
/// incompressible are written as stored blocks.
final class DeflateBlockEncoder: @unchecked Sendable {
  /// The largest payload of one stored deflate block (RFC 1951, section 3.2.4).
  private static let maxStoredLength = 65_535

  private var stream = z_stream()
  private var estimator = CompressibilityEstimator()

  init(level: Int) throws {
    // Negative window bits ask zlib for raw deflate, without a zlib or gzip wrapper.
    let status = lb_deflate_init2(&stream, Int32(level), -15, 8)
    guard status == Z_OK else {
      throw CompressionError("deflateInit2 failed with status \(status) at level \(level)")
    }
  }

  deinit { deflateEnd(&stream) }

  /// Replaces `job.output` with the raw deflate encoding of the job's block and sets
  /// `job.checksum`.
  func encode(_ job: DeflateJob) throws {
    let input = job.input.bytes
    let block = UnsafeRawBufferPointer(rebasing: input[job.blockStart...])
    job.output.count = 0
    job.checksum = checksum(of: block)

    let runs = estimator.runs(in: input, blockStart: job.blockStart)
    if runs.isEmpty {
      // Only the last block can be empty, and it must still end the stream.
      try resetStream(history: UnsafeRawBufferPointer(start: nil, count: 0))
      try deflateRun(block, flush: Z_FINISH, into: job.output)
      return
    }

    var needsReset = true
    for (index, run) in runs.enumerated() {
      let endsStream = job.isFinal && index == runs.count - 1
      let bytes = UnsafeRawBufferPointer(rebasing: input[run.range])
      if run.isStored {
        appendStored(bytes, isFinal: endsStream, to: job.output)
        needsReset = true
        continue
      }
      if needsReset {
        let historyStart = max(0, run.range.lowerBound - CompressibilityEstimator.windowSize)
        try resetStream(
          history: UnsafeRawBufferPointer(rebasing: input[historyStart..<run.range.lowerBound]))
        needsReset = false
      }
      try deflateRun(bytes, flush: endsStream ? Z_FINISH : Z_SYNC_FLUSH, into: job.output)
    }
  }

  private func checksum(of bytes: UnsafeRawBufferPointer) -> uLong {
    guard let base = bytes.baseAddress else { return crc32(0, nil, 0) }
    return crc32_z(0, base.assumingMemoryBound(to: Bytef.self), z_size_t(bytes.count))
  }

  /// Starts a fresh deflate stream whose matches may refer back into `history`.
  private func resetStream(history: UnsafeRawBufferPointer) throws {
    let status = deflateReset(&stream)
    guard status == Z_OK else { throw CompressionError("deflateReset failed with status \(status)") }
    guard let base = history.baseAddress, history.count > 0 else { return }
    let dictionaryStatus = deflateSetDictionary(
      &stream, base.assumingMemoryBound(to: Bytef.self), uInt(history.count))
    guard dictionaryStatus == Z_OK else {
      throw CompressionError("deflateSetDictionary failed with status \(dictionaryStatus)")
    }
  }

  private func deflateRun(_ bytes: UnsafeRawBufferPointer, flush: Int32, into output: RawByteBuffer)
    throws
  {
    stream.next_in = bytes.baseAddress.map {
      UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self))
    }
    stream.avail_in = uInt(bytes.count)
    // deflateBound covers a stream ended by Z_FINISH, and a sync flush adds 5 bytes to that.
    output.reserveCapacity(output.count + Int(deflateBound(&stream, uLong(bytes.count))) + 16)

    while true {
      let room = output.capacity - output.count
      stream.next_out = (output.baseAddress + output.count).assumingMemoryBound(to: Bytef.self)
      stream.avail_out = uInt(room)
      let status = deflate(&stream, flush)
      output.count += room - Int(stream.avail_out)
      guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
        throw CompressionError("deflate failed with status \(status)")
      }

      let isComplete =
        flush == Z_FINISH
        ? status == Z_STREAM_END
        : stream.avail_in == 0 && stream.avail_out > 0
      if isComplete { break }
      if stream.avail_out > 0 && status == Z_BUF_ERROR {
        throw CompressionError("deflate made no progress with output space left")
      }
      output.reserveCapacity(output.capacity * 2)
    }
    stream.next_in = nil
    stream.next_out = nil
  }

  /// Appends `bytes` as stored deflate blocks. The output must be at a byte boundary, which
  /// holds at the start of every block and after a sync flush.
  private func appendStored(_ bytes: UnsafeRawBufferPointer, isFinal: Bool, to output: RawByteBuffer)
  {
    var offset = 0
    repeat {
      let length = min(Self.maxStoredLength, bytes.count - offset)
      let isLastPiece = offset + length == bytes.count
      // BFINAL in bit 0, BTYPE 00 (stored) in bits 1-2, then padding to the byte boundary.
      let header: [UInt8] = [
        isFinal && isLastPiece ? 1 : 0,
        UInt8(length & 0xff), UInt8(length >> 8),
        UInt8(~length & 0xff), UInt8((~length >> 8) & 0xff),
      ]
      header.withUnsafeBytes { output.append($0) }
      output.append(UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length]))
      offset += length
    } while offset < bytes.count
  }
}

