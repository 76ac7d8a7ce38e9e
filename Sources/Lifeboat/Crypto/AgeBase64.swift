/// The base64 of age headers: the standard alphabet (RFC 4648, section 4) without `=` padding.
/// Decoding accepts only the canonical encoding, as the age format requires, so that a header
/// has exactly one byte representation.
enum AgeBase64 {
  private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
  private static let values: [UInt8] = {
    var table = [UInt8](repeating: 0xFF, count: 256)
    for (index, character) in alphabet.enumerated() { table[Int(character)] = UInt8(index) }
    return table
  }()

  static func isAlphabet(_ byte: UInt8) -> Bool { values[Int(byte)] != 0xFF }

  static func encode(_ bytes: [UInt8]) -> String {
    var out: [UInt8] = []
    out.reserveCapacity((bytes.count * 4 + 2) / 3)
    var index = 0
    while index + 3 <= bytes.count {
      let group = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
      for shift in [18, 12, 6, 0] { out.append(alphabet[Int(group >> UInt32(shift) & 63)]) }
      index += 3
    }
    let rest = bytes.count - index
    if rest == 1 {
      let group = UInt32(bytes[index]) << 16
      for shift in [18, 12] { out.append(alphabet[Int(group >> UInt32(shift) & 63)]) }
    } else if rest == 2 {
      let group = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
      for shift in [18, 12, 6] { out.append(alphabet[Int(group >> UInt32(shift) & 63)]) }
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// Returns nil for padding, characters outside the alphabet, an impossible length, or unused
  /// low bits that are not zero (a non-canonical encoding).
  static func decode<S: Sequence>(_ text: S) -> [UInt8]? where S.Element == UInt8 {
    let characters = Array(text)
    guard characters.count % 4 != 1 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(characters.count * 3 / 4)
    var accumulator: UInt32 = 0
    var bits = 0
    for character in characters {
      let value = values[Int(character)]
      guard value != 0xFF else { return nil }
      accumulator = accumulator << 6 | UInt32(value)
      bits += 6
      if bits >= 8 {
        bits -= 8
        out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
      }
    }
    guard accumulator & ((1 << UInt32(bits)) - 1) == 0 else { return nil }
    return out
  }
}
