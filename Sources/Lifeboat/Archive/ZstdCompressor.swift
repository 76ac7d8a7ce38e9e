import CZstd

/// A zstd stream of one frame, with a content checksum, through libzstd's streaming API
/// (`ZSTD_compressStream2`).
///
/// With more than one thread, libzstd compresses on `threads` threads of its own
/// (`ZSTD_c_nbWorkers`) while the calling thread feeds them. With one thread, it compresses on
/// the calling thread. `next.write` is only called from `write` and `finish`. After an error
/// every later call throws it again. Freeing the context stops libzstd's threads, so dropping
/// the compressor without `finish()` is safe.
final class ZstdCompressor: ByteSink {
  /// The levels `CompressionOptions` documents; 20–22 need `--ultra` memory to decompress.
  static let levels = 1...19
  static let maxThreads = 256

  private enum State {
    case open
    case finished
    case failed(any Error)
  }

  private let context: OpaquePointer
  private let next: ByteSink
  private let output: UnsafeMutableRawBufferPointer
  private var state = State.open

  init(level: Int, threads: Int, next: ByteSink) throws {
    guard Self.levels.contains(level) else {
      throw CompressionError("invalid zstd level \(level): use 1 to 19")
    }
    guard (1...Self.maxThreads).contains(threads) else {
      throw CompressionError("invalid thread count \(threads): use 1 to \(Self.maxThreads)")
    }
    guard let context = ZSTD_createCCtx() else {
      throw CompressionError("ZSTD_createCCtx failed: out of memory")
    }
    do {
      try Self.configure(context, level: level, threads: threads)
    } catch {
      ZSTD_freeCCtx(context)
      throw error
    }
    self.context = context
    self.next = next
    output = .allocate(byteCount: ZSTD_CStreamOutSize(), alignment: 16)
  }

  deinit {
    ZSTD_freeCCtx(context)
    output.deallocate()
  }

  private static func configure(_ context: OpaquePointer, level: Int, threads: Int) throws {
    try setParameter(context, ZSTD_c_compressionLevel, Int32(level))
    // Without a checksum some corruption decodes silently. The zstd command writes one too.
    try setParameter(context, ZSTD_c_checksumFlag, 1)
    if threads > 1 {
      // A libzstd built without thread support accepts only 0 workers, so compress inline.
      let bounds = ZSTD_cParam_getBounds(ZSTD_c_nbWorkers)
      let workers = ZSTD_isError(bounds.error) != 0 ? 0 : min(Int32(threads), bounds.upperBound)
      if workers > 0 {
        try setParameter(context, ZSTD_c_nbWorkers, workers)
        // libzstd sizes each worker's job from the level (8 MiB at level 3) and buffers several
        // per worker. 1 MiB jobs cut a 310 MB backup's peak RSS from 107 to 59 MiB for 0.9%
        // larger output (libzstd 1.5.4, 2 threads, scripts/make-corpus --size MEDIUM).
        try setParameter(context, ZSTD_c_jobSize, 1 << 20)
      }
    }
  }

  private static func setParameter(
    _ context: OpaquePointer, _ parameter: ZSTD_cParameter, _ value: Int32
  ) throws {
    let result = ZSTD_CCtx_setParameter(context, parameter, value)
    if ZSTD_isError(result) != 0 {
      let name = String(cString: ZSTD_getErrorName(result))
      throw CompressionError("setting zstd parameter \(parameter.rawValue) to \(value) failed: \(name)")
    }
  }

  func write(_ bytes: UnsafeRawBufferPointer) throws {
    try checkOpen()
    guard bytes.count > 0 else { return }
    try withFailureRecorded {
      var input = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
      // With worker threads each call takes only part of the input; it blocks when the
      // workers are busy, so this loop does not spin.
      while input.pos < input.size {
        _ = try compress(&input, ZSTD_e_continue)
      }
    }
  }

  func finish() throws {
    if case .finished = state { return }
    try checkOpen()
    try withFailureRecorded {
      var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
      while try compress(&input, ZSTD_e_end) != 0 {}
      state = .finished
      try next.finish()
    }
  }

  /// Runs one `ZSTD_compressStream2` step, writes what it produced to `next`, and returns the
  /// number of bytes libzstd still has to flush (at least).
  private func compress(_ input: inout ZSTD_inBuffer, _ directive: ZSTD_EndDirective) throws
    -> Int
  {
    var out = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
    let result = ZSTD_compressStream2(context, &out, &input, directive)
    if ZSTD_isError(result) != 0 {
      throw CompressionError("zstd compression failed: \(String(cString: ZSTD_getErrorName(result)))")
    }
    if out.pos > 0 {
      try next.write(UnsafeRawBufferPointer(rebasing: output[0..<out.pos]))
    }
    return result
  }

  private func checkOpen() throws {
    switch state {
    case .open: return
    case .finished: throw CompressionError("write after finish: the zstd stream has ended")
    case .failed(let error): throw error
    }
  }

  private func withFailureRecorded(_ body: () throws -> Void) throws {
    do {
      try body()
    } catch {
      if case .failed = state {} else { state = .failed(error) }
      throw error
    }
  }
}
