import CZlib

/// One block of gzip input and, once encoded, its raw deflate output.
///
/// The thread that calls the compressor fills `input` and reads the results, and a worker
/// thread runs the encoder in between. `DeflateWorkerPool` hands the job over under its lock.
final class DeflateJob: @unchecked Sendable {
  /// Up to 32 KiB of the bytes before the block, as deflate history, then the block itself.
  let input: RawByteBuffer
  /// The offset in `input` where the block starts.
  var blockStart = 0
  /// Whether the block ends the deflate stream.
  var isFinal = false
  let output: RawByteBuffer
  /// The CRC-32 of the block's bytes, without the history.
  var checksum: uLong = 0
  var error: (any Error)?
  /// Set by the worker pool under its lock.
  var isDone = false

  init(blockSize: Int) {
    input = RawByteBuffer(capacity: CompressibilityEstimator.windowSize + blockSize)
    output = RawByteBuffer(capacity: blockSize + blockSize / 8 + 1024)
  }

  var blockLength: Int { input.count - blockStart }

  /// Empties the job and copies the last 32 KiB of `previous`'s input in as history.
  func reset(followingHistoryOf previous: DeflateJob?) {
    input.count = 0
    output.count = 0
    blockStart = 0
    isFinal = false
    checksum = 0
    error = nil
    isDone = false
    if let previous {
      let history = previous.input.bytes.suffix(CompressibilityEstimator.windowSize)
      input.append(UnsafeRawBufferPointer(rebasing: history))
      blockStart = input.count
    }
  }
}
