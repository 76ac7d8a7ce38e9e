import CCrypto

/// Incremental SHA-256 from libcrypto, which uses the CPU's SHA extensions where present.
public final class SHA256Hasher {
  private let context: OpaquePointer

  public init() {
    context = EVP_MD_CTX_new()
    EVP_DigestInit_ex(context, EVP_sha256(), nil)
  }

  deinit { EVP_MD_CTX_free(context) }

  public func update(_ bytes: UnsafeRawBufferPointer) {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return }
    EVP_DigestUpdate(context, base, bytes.count)
  }

  public func update(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { update($0) }
  }

  /// Returns the digest and resets the hasher for reuse.
  public func finalize() -> [UInt8] {
    var digest = [UInt8](repeating: 0, count: 32)
    var length: UInt32 = 0
    EVP_DigestFinal_ex(context, &digest, &length)
    EVP_DigestInit_ex(context, EVP_sha256(), nil)
    return digest
  }

  public static func hash(_ bytes: [UInt8]) -> [UInt8] {
    let hasher = SHA256Hasher()
    hasher.update(bytes)
    return hasher.finalize()
  }
}

extension Array where Element == UInt8 {
  /// Lower-case hexadecimal, as `sha256sum` prints.
  public var hexString: String {
    let digits: [UInt8] = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(count * 2)
    for byte in self {
      out.append(digits[Int(byte >> 4)])
      out.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: out, as: UTF8.self)
  }
}

/// A pass-through sink that hashes and counts what flows to the next sink.
public final class HashingSink: ByteSink {
  public let next: ByteSink?
  private let hasher = SHA256Hasher()
  public private(set) var byteCount: Int64 = 0
  public private(set) var digest: [UInt8] = []

  public init(next: ByteSink?) { self.next = next }

  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    hasher.update(bytes)
    byteCount += Int64(bytes.count)
    try next?.write(bytes)
  }

  public func finish() throws {
    digest = hasher.finalize()
    try next?.finish()
  }
}
