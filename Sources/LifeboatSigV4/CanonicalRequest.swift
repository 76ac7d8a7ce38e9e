/// The canonical form of a request that SigV4 hashes into the string to sign.
struct CanonicalRequest {
  /// The lines joined by `\n`: method, URI, query, header block, signed headers, payload hash.
  let text: String
  /// The lower-case, sorted header names joined by `;`.
  let signedHeaders: String

  /// Builds the canonical request. `canonicalHeaders` is the output of `canonicalHeaders(_:)`
  /// for every header to sign, `host` and the `x-amz-*` ones included.
  init(
    method: String, canonicalURI: String, query: [(name: String, value: String?)],
    canonicalHeaders: [(name: String, value: String)], payloadHash: String
  ) {
    signedHeaders = canonicalHeaders.map(\.name).joined(separator: ";")
    let headerBlock = canonicalHeaders.map { "\($0.name):\($0.value)\n" }.joined()
    text = [
      method, canonicalURI, Self.canonicalQuery(query), headerBlock, signedHeaders, payloadHash,
    ].joined(separator: "\n")
  }

  /// Encodes every name and value, then sorts by encoded name and encoded value. Sorting
  /// compares bytes, so upper case sorts before lower case. A nil value signs as `name=`.
  static func canonicalQuery(_ query: [(name: String, value: String?)]) -> String {
    let encoded = query.map {
      (
        name: SigV4Encoding.encodeQueryComponent($0.name),
        value: SigV4Encoding.encodeQueryComponent($0.value ?? "")
      )
    }
    let sorted = encoded.sorted { left, right in
      if left.name != right.name {
        return left.name.utf8.lexicographicallyPrecedes(right.name.utf8)
      }
      return left.value.utf8.lexicographicallyPrecedes(right.value.utf8)
    }
    return sorted.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
  }

  /// Lower-cases the names, normalises the values, joins repeated headers with `,` in the order
  /// given and sorts by name.
  static func canonicalHeaders(
    _ headers: [(name: String, value: String)]
  ) -> [(name: String, value: String)] {
    // Keyed by bytes, because String equality would merge names that differ only by Unicode
    // normalisation.
    var valuesByName: [[UInt8]: [String]] = [:]
    for header in headers {
      valuesByName[Array(header.name.lowercased().utf8), default: []]
        .append(normalizeValue(header.value))
    }
    return valuesByName.keys
      .sorted { $0.lexicographicallyPrecedes($1) }
      .map { name in
        let values = valuesByName[name]!
        return (name: String(decoding: name, as: UTF8.self), value: values.joined(separator: ","))
      }
  }

  /// Trims a header value and turns each inner run of whitespace into one space. Quotes get no
  /// special treatment, as in S3.
  static func normalizeValue(_ value: String) -> String {
    value.utf8.split(whereSeparator: isWhitespace)
      .map { String(decoding: $0, as: UTF8.self) }
      .joined(separator: " ")
  }

  /// Reports whether a byte is ASCII whitespace: space, tab, line feed, vertical tab, form feed
  /// or carriage return.
  private static func isWhitespace(_ byte: UInt8) -> Bool {
    byte == 0x20 || (0x09...0x0d).contains(byte)
  }
}
