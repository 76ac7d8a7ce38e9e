/// The text header of an age v1 file: the version line, recipient stanzas and the header MAC.
///
///     age-encryption.org/v1
///     -> X25519 <base64 ephemeral share>
///     <base64 body, wrapped at 64 columns, ending with a line shorter than 64>
///     --- <base64 HMAC-SHA-256 of everything up to and including "---">
struct AgeHeader {
  static let versionLine = "age-encryption.org/v1"
  static let columns = 64
  /// Headers are small (about 100 bytes a stanza), so a longer one is damage, not data.
  static let maxLength = 1 << 20

  var stanzas: [AgeStanza]
  var mac: [UInt8]
  /// The header bytes up to and including `---`, which the MAC covers.
  var macInput: [UInt8]

  /// Returns the MAC key for a file key: HKDF-SHA-256(ikm = file key, salt = empty, info = "header").
  static func macKey(fileKey: [UInt8]) throws -> [UInt8] {
    try CryptoPrimitives.hkdfSHA256(key: fileKey, salt: [], info: Array("header".utf8))
  }

  /// Encodes a complete header, MAC line included.
  static func encode(stanzas: [AgeStanza], fileKey: [UInt8]) throws -> [UInt8] {
    var out = Array((versionLine + "\n").utf8)
    for stanza in stanzas {
      out += Array(("-> " + stanza.arguments.joined(separator: " ") + "\n").utf8)
      let body = Array(AgeBase64.encode(stanza.body).utf8)
      var start = 0
      // Full lines, then one shorter line, which is empty when the body fills whole lines.
      while body.count - start >= columns {
        out += body[start..<(start + columns)] + [0x0A]
        start += columns
      }
      out += body[start...] + [0x0A]
    }
    out += Array("---".utf8)
    let mac = try CryptoPrimitives.hmacSHA256(key: macKey(fileKey: fileKey), data: out)
    out += Array((" " + AgeBase64.encode(mac) + "\n").utf8)
    return out
  }

  /// Returns the length of the header at the start of `bytes` (through the LF that ends the MAC
  /// line), or nil when more bytes are needed. Only the first line starting with `---` can end
  /// a header: base64 has no `-` and stanza lines start with `->`.
  static func length(in bytes: [UInt8], scannedUpTo scanned: inout Int) -> Int? {
    var lineStart = scanned
    while let newline = bytes[lineStart...].firstIndex(of: 0x0A) {
      if bytes[lineStart...].starts(with: Array("---".utf8)) { return newline + 1 }
      lineStart = newline + 1
    }
    scanned = lineStart
    return nil
  }

  /// Parses a complete header as `length(in:scannedUpTo:)` delimited it.
  static func parse(_ header: [UInt8]) throws -> AgeHeader {
    var lines = header.split(separator: 0x0A, omittingEmptySubsequences: false).map { Array($0) }
    // The header ends with LF, so the split leaves one empty piece after it.
    guard lines.last?.isEmpty == true else { throw AgeError.truncatedHeader }
    lines.removeLast()
    try checkVersionLine(lines[0][...])

    var stanzas: [AgeStanza] = []
    var index = 1
    while index < lines.count - 1 {
      let line = lines[index]
      guard line.starts(with: Array("-> ".utf8)) else {
        throw AgeError.invalidHeader("line \(index + 1) is neither a stanza nor the MAC line")
      }
      let arguments = line.dropFirst(3).split(separator: 0x20, omittingEmptySubsequences: false)
      guard !arguments.isEmpty,
        arguments.allSatisfy({ !$0.isEmpty && $0.allSatisfy { (0x21...0x7E).contains($0) } })
      else { throw AgeError.invalidHeader("stanza on line \(index + 1) has an empty or non-printable argument") }
      index += 1

      var body: [UInt8] = []
      while true {
        guard index < lines.count - 1 else {
          throw AgeError.invalidHeader("stanza body on line \(index) does not end with a short line")
        }
        let bodyLine = lines[index]
        index += 1
        guard bodyLine.count <= columns, bodyLine.allSatisfy(AgeBase64.isAlphabet) else {
          throw AgeError.invalidHeader("line \(index) is not a base64 stanza body line")
        }
        body += bodyLine
        if bodyLine.count < columns { break }
      }
      guard let decoded = AgeBase64.decode(body) else {
        throw AgeError.invalidHeader("stanza body ending on line \(index) is not canonical base64")
      }
      stanzas.append(
        AgeStanza(arguments: arguments.map { String(decoding: $0, as: UTF8.self) }, body: decoded))
    }
    guard !stanzas.isEmpty else { throw AgeError.invalidHeader("the header has no recipient stanza") }

    let macLine = lines[lines.count - 1]
    guard macLine.starts(with: Array("--- ".utf8)), macLine.count == 4 + 43,
      let mac = AgeBase64.decode(macLine[4...]), mac.count == 32
    else { throw AgeError.invalidHeader("the MAC line is not '--- ' and 43 base64 characters") }
    let macInput = Array(header[..<(header.count - macLine.count - 1 + 3)])
    return AgeHeader(stanzas: stanzas, mac: mac, macInput: macInput)
  }

  /// Checks the version line at the start of a file, as soon as it is complete.
  static func checkVersionLine(_ line: ArraySlice<UInt8>) throws {
    let text = String(decoding: line, as: UTF8.self)
    if text == versionLine { return }
    if text.hasPrefix("-----BEGIN AGE ENCRYPTED FILE-----") { throw AgeError.armored }
    if text.hasPrefix("age-encryption.org/") {
      throw AgeError.unsupportedVersion(String(text.dropFirst("age-encryption.org/".count)))
    }
    throw AgeError.notAgeFile
  }
}
