import LifeboatSigV4
import Testing

struct SigV4EncodingTests {
  /// S3 cases whose key is known: the encoded key must give the path in the case's URL.
  @Test(arguments: try SigV4Vectors.allCases().filter { $0.objectKeyBytes != nil })
  func pathFromObjectKey(_ vector: SigV4Case) throws {
    let key = try #require(vector.objectKeyBytes)
    let bucketPrefix = vector.addressing == "path" ? "/\(try #require(vector.bucket))" : ""
    let path = "\(bucketPrefix)/" + SigV4Encoding.encodePath(key)
    #expect(path == vector.parsedURL.path)
  }

  /// S3 cases: the decoded parameters, encoded in URL order, must give the URL's query.
  @Test(arguments: try SigV4Vectors.allCases().filter { $0.suite != "generic" })
  func queryFromParameters(_ vector: SigV4Case) {
    let encoded = vector.query.map { parameter in
      let name = SigV4Encoding.encodeQueryComponent(parameter[0]!)
      guard let value = parameter[1] else { return name }
      return "\(name)=\(SigV4Encoding.encodeQueryComponent(value))"
    }
    let query = encoded.isEmpty ? nil : encoded.joined(separator: "&")
    #expect(query == vector.parsedURL.query)
  }

  @Test func everyByte() {
    let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~".utf8)
    for byte in UInt8.min...UInt8.max {
      let expected =
        unreserved.contains(byte) || byte == UInt8(ascii: "/")
        ? String(UnicodeScalar(byte)) : "%" + hex(byte)
      #expect(SigV4Encoding.encodePath([byte]) == expected, "byte \(byte)")
    }
  }

  @Test func pathSpecialCharacters() {
    #expect(SigV4Encoding.encodePath("a b".utf8) == "a%20b")
    #expect(SigV4Encoding.encodePath("a+b".utf8) == "a%2Bb")
    #expect(SigV4Encoding.encodePath("100%".utf8) == "100%25")
    #expect(SigV4Encoding.encodePath("%20".utf8) == "%2520")
    #expect(SigV4Encoding.encodePath("k=v:w?x#y".utf8) == "k%3Dv%3Aw%3Fx%23y")
    #expect(SigV4Encoding.encodePath("a//./../b/".utf8) == "a//./../b/")
  }

  @Test func pathInvalidUTF8() {
    let bytes: [UInt8] = [0x72, 0x2f, 0xff, 0xfe, 0xc3, 0x28, 0x80]
    #expect(SigV4Encoding.encodePath(bytes) == "r/%FF%FE%C3%28%80")
  }

  @Test func pathNotNormalized() {
    let composed = SigV4Encoding.encodePath("caf\u{e9}".utf8)
    let decomposed = SigV4Encoding.encodePath("cafe\u{301}".utf8)
    #expect(composed == "caf%C3%A9")
    #expect(decomposed == "cafe%CC%81")
  }

  @Test func queryComponent() {
    #expect(SigV4Encoding.encodeQueryComponent("a/b") == "a%2Fb")
    #expect(SigV4Encoding.encodeQueryComponent("a b+c") == "a%20b%2Bc")
    #expect(SigV4Encoding.encodeQueryComponent("k=v&w") == "k%3Dv%26w")
    #expect(SigV4Encoding.encodeQueryComponent("été") == "%C3%A9t%C3%A9")
    #expect(SigV4Encoding.encodeQueryComponent("-_.~") == "-_.~")
    #expect(SigV4Encoding.encodeQueryComponent("") == "")
  }

  private func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
  }
}
