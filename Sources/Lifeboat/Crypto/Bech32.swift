/// Bech32 (BIP 173) as age uses it for `age1…` recipients and `AGE-SECRET-KEY-1…` identities:
/// the original checksum constant 1 (not Bech32m) and no limit on the length of the data part.
enum Bech32 {
  private static let charset = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)
  private static let generator: [UInt32] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3]

  enum DecodingError: Error, Equatable {
    case mixedCase
    case missingSeparator
    case invalidCharacter
    case invalidChecksum
    case invalidPadding
  }

  /// Encodes `data` under the human-readable part `hrp`, in lower case.
  static func encode(hrp: String, data: [UInt8]) -> String {
    let hrpBytes = Array(hrp.lowercased().utf8)
    let values = convertBits(data, from: 8, to: 5, pad: true)!
    let checksum = makeChecksum(hrp: hrpBytes, values: values)
    let body = (values + checksum).map { charset[Int($0)] }
    return String(decoding: hrpBytes + [UInt8(ascii: "1")] + body, as: UTF8.self)
  }

  /// Decodes an all-lower-case or all-upper-case string. Returns the human-readable part in
  /// lower case and the data bytes.
  static func decode(_ text: String) throws -> (hrp: String, data: [UInt8]) {
    let bytes = Array(text.utf8)
    let hasLower = bytes.contains { (0x61...0x7A).contains($0) }
    let hasUpper = bytes.contains { (0x41...0x5A).contains($0) }
    guard !(hasLower && hasUpper) else { throw DecodingError.mixedCase }
    guard bytes.allSatisfy({ (33...126).contains($0) }) else { throw DecodingError.invalidCharacter }
    let lower = bytes.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }
    guard let separator = lower.lastIndex(of: UInt8(ascii: "1")), separator > 0,
      lower.count - separator - 1 >= 6
    else { throw DecodingError.missingSeparator }

    let hrp = Array(lower[..<separator])
    var values: [UInt8] = []
    for character in lower[(separator + 1)...] {
      guard let value = charset.firstIndex(of: character) else { throw DecodingError.invalidCharacter }
      values.append(UInt8(value))
    }
    guard polymod(expand(hrp) + values) == 1 else { throw DecodingError.invalidChecksum }
    guard let data = convertBits(Array(values.dropLast(6)), from: 5, to: 8, pad: false) else {
      throw DecodingError.invalidPadding
    }
    return (String(decoding: hrp, as: UTF8.self), data)
  }

  private static func polymod(_ values: [UInt8]) -> UInt32 {
    var checksum: UInt32 = 1
    for value in values {
      let top = checksum >> 25
      checksum = (checksum & 0x1ff_ffff) << 5 ^ UInt32(value)
      for index in 0..<5 where (top >> UInt32(index)) & 1 == 1 {
        checksum ^= generator[index]
      }
    }
    return checksum
  }

  private static func expand(_ hrp: [UInt8]) -> [UInt8] {
    hrp.map { $0 >> 5 } + [0] + hrp.map { $0 & 31 }
  }

  private static func makeChecksum(hrp: [UInt8], values: [UInt8]) -> [UInt8] {
    let mod = polymod(expand(hrp) + values + [0, 0, 0, 0, 0, 0]) ^ 1
    return (0..<6).map { UInt8((mod >> UInt32(5 * (5 - $0))) & 31) }
  }

  /// Regroups bits, as BIP 173 does between bytes and 5-bit values. Without `pad`, leftover
  /// bits must be fewer than `from` and all zero.
  private static func convertBits(_ data: [UInt8], from: Int, to: Int, pad: Bool) -> [UInt8]? {
    var accumulator: UInt32 = 0
    var bits = 0
    var out: [UInt8] = []
    let maxValue: UInt32 = (1 << UInt32(to)) - 1
    for value in data {
      accumulator = accumulator << UInt32(from) | UInt32(value)
      bits += from
      while bits >= to {
        bits -= to
        out.append(UInt8((accumulator >> UInt32(bits)) & maxValue))
      }
    }
    if pad {
      if bits > 0 { out.append(UInt8((accumulator << UInt32(to - bits)) & maxValue)) }
    } else if bits >= from || (accumulator << UInt32(to - bits)) & maxValue != 0 {
      return nil
    }
    return out
  }
}
