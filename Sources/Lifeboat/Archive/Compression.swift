/// The compressed stream format of an archive.
public enum CompressionFormat: String, Sendable, CaseIterable {
  case gzip
  case zstd

  /// The archive object's suffix, after the backup id.
  public var fileExtension: String {
    switch self {
    case .gzip: return ".tar.gz"
    case .zstd: return ".tar.zst"
    }
  }
}

/// The compression settings of an archive.
public struct CompressionOptions: Sendable, Equatable {
  public var format: CompressionFormat
  /// gzip: 1–9 (default 6). zstd: 1–19 (default 3).
  public var level: Int
  /// Worker threads; 1 compresses on the calling thread.
  public var threads: Int

  public init(format: CompressionFormat = .gzip, level: Int? = nil, threads: Int = 1) {
    self.format = format
    self.level = level ?? (format == .gzip ? 6 : 3)
    self.threads = max(1, threads)
  }
}

/// Builds the compressing and decompressing sinks for each format.
public enum Compression {
  /// Returns a sink that compresses what it is given and writes the result to `next`.
  /// `finish()` ends the compressed stream and then finishes `next`.
  ///
  /// gzip output is one gzip member, compressed in blocks on `options.threads` threads as pigz
  /// does, and is the same bytes for any thread count. zstd output is one frame with a content
  /// checksum, from libzstd's own worker threads. The sink calls `next` only from its own
  /// `write` and `finish`. After `next` or the compressor fails, every later call throws that
  /// error, and dropping the sink at any point stops its threads.
  ///
  /// Throws `CompressionError` for a level outside 1–9 (gzip) or 1–19 (zstd), or more than
  /// 256 threads.
  public static func makeCompressor(_ options: CompressionOptions, next: ByteSink) throws
    -> ByteSink
  {
    switch options.format {
    case .gzip:
      return try GzipCompressor(level: options.level, threads: options.threads, next: next)
    case .zstd:
      return try ZstdCompressor(level: options.level, threads: options.threads, next: next)
    }
  }

  /// Returns a sink that decompresses what it is given and writes the result to `next`.
  /// It throws on corrupt or truncated input; `finish()` checks the stream ended cleanly.
  public static func makeDecompressor(_ format: CompressionFormat, next: ByteSink) throws
    -> ByteSink
  {
    switch format {
    case .gzip: return try GzipDecompressor(next: next)
    case .zstd: return try ZstdDecompressor(next: next)
    }
  }
}
