/// A failed compression or decompression: corrupt or truncated input, an invalid option, or an
/// error status from zlib or libzstd.
public struct CompressionError: Error, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}
