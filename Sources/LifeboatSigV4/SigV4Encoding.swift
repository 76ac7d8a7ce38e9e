/// The percent-encoding rules of SigV4 for S3.
public enum SigV4Encoding {
  /// Encodes an object key's bytes for the URL path: every byte except `A-Z a-z 0-9 - _ . ~`
  /// and `/` becomes `%XX` with upper-case hex, once.
  ///
  /// The bytes need not be valid UTF-8, and nothing is normalised: `//`, `.` and `..` segments
  /// and a literal `%` (as `%25`) are kept, because S3 signs the key exactly as stored.
  public static func encodePath(_ bytes: some Sequence<UInt8>) -> String {
    percentEncode(bytes, keepingSlash: true)
  }

  /// Encodes a query name or value: as `encodePath`, but `/` is encoded too.
  ///
  /// A space becomes `%20` and `+` becomes `%2B`, never the form encoding's `+` for a space.
  public static func encodeQueryComponent(_ value: String) -> String {
    percentEncode(value.utf8, keepingSlash: false)
  }

  /// Removes `.` and `..` segments and empty segments (from `//`) from a path, as the generic
  /// SigV4 rules ask before the path is encoded. S3 never does this.
  ///
  /// A `..` above the root is dropped. The result ends in `/` only when the path does and
  /// something besides the root remains, so `/a/b/..` gives `/a`, as botocore 1.43 and the AWS
  /// SDK for Go do, where RFC 3986 would give `/a/`.
  static func removeDotSegments(_ path: [UInt8]) -> [UInt8] {
    let slash = UInt8(ascii: "/")
    let dot = UInt8(ascii: ".")
    var remaining: [ArraySlice<UInt8>] = []
    for segment in path.split(separator: slash, omittingEmptySubsequences: false) {
      if segment.isEmpty || segment.elementsEqual([dot]) {
        continue
      }
      if segment.elementsEqual([dot, dot]) {
        _ = remaining.popLast()
        continue
      }
      remaining.append(segment)
    }
    var result: [UInt8] = [slash]
    result.append(contentsOf: remaining.joined(separator: [slash]))
    if path.last == slash && !remaining.isEmpty {
      result.append(slash)
    }
    return result
  }

  private static func percentEncode(_ bytes: some Sequence<UInt8>, keepingSlash: Bool) -> String {
    let hexDigits = Array("0123456789ABCDEF".utf8)
    var encoded: [UInt8] = []
    encoded.reserveCapacity(bytes.underestimatedCount * 3)
    for byte in bytes {
      if isUnreserved(byte) || (keepingSlash && byte == UInt8(ascii: "/")) {
        encoded.append(byte)
      } else {
        encoded.append(UInt8(ascii: "%"))
        encoded.append(hexDigits[Int(byte >> 4)])
        encoded.append(hexDigits[Int(byte & 0x0f)])
      }
    }
    return String(decoding: encoded, as: UTF8.self)
  }

  /// Reports whether a byte is one of RFC 3986's unreserved characters.
  private static func isUnreserved(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
      UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
      UInt8(ascii: "."), UInt8(ascii: "~"):
      return true
    default:
      return false
    }
  }
}
