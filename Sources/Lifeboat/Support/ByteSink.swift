/// A consumer of a byte stream: a compressor, a hasher, a file or an upload.
///
/// Stages of the backup pipeline are sinks that forward to the next sink, so that
/// reading, archiving, compressing, hashing and storing run through bounded buffers.
public protocol ByteSink: AnyObject {
  /// Consumes `bytes`. The buffer is only valid during the call.
  func write(_ bytes: UnsafeRawBufferPointer) throws
  /// Flushes everything buffered and finishes the stream. No `write` may follow.
  func finish() throws
}

extension ByteSink {
  public func write(_ bytes: [UInt8]) throws {
    try bytes.withUnsafeBytes { try write($0) }
  }
}
