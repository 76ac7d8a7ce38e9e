import Foundation
import LifeboatSigV4
import Testing

/// One line of `Vectors/cases.jsonl` or `Vectors/extra-cases.jsonl`: a request before signing
/// and what a correct signer produces for it (see `Vectors/README.md`).
struct SigV4Case: Decodable, Sendable, CustomTestStringConvertible {
  let name: String
  let suite: String
  let kind: String
  let method: String
  let url: String
  let headers: [[String]]
  let payloadHash: String
  let bucket: String?
  let objectKey: String?
  /// The key's bytes in hex; only in the extra cases, where a key may not be UTF-8.
  let objectKeyHex: String?
  let addressing: String?
  let query: [[String?]]
  let accessKey: String
  let secretKey: String
  let sessionToken: String?
  let region: String
  let service: String
  let timestamp: String
  let expires: Int?
  let canonicalRequest: String
  let stringToSign: String
  let signature: String
  let signedHeaders: [String]
  let authorization: String?
  let addedHeaders: [[String]]?
  let presignedUrl: String?

  var testDescription: String { name }

  var signer: SigV4Signer {
    SigV4Signer(
      credentials: AWSCredentials(
        accessKeyId: accessKey, secretAccessKey: secretKey, sessionToken: sessionToken),
      region: region, service: service)
  }

  var date: Date { SigV4Vectors.date(timestamp) }

  var parsedURL: SplitURL { SplitURL(url) }

  /// The request as the case describes it, with the path taken verbatim from `url`.
  var request: SigV4Request {
    SigV4Request(
      method: method, host: parsedURL.hostHeader, encodedPath: parsedURL.path,
      query: query.map { (name: $0[0]!, value: $0[1]) },
      headers: headers.map { (name: $0[0], value: $0[1]) }, payloadHash: payloadHash)
  }

  /// The object key's bytes, from `object_key_hex` when present, else from `object_key`.
  var objectKeyBytes: [UInt8]? {
    if let hex = objectKeyHex {
      return SigV4Vectors.bytes(hex: hex)
    }
    return objectKey.map { Array($0.utf8) }
  }
}

/// A URL cut into the parts SigV4 needs, by plain string splitting, because the generic
/// cases hold raw spaces and UTF-8 that URL parsers re-encode.
struct SplitURL {
  let scheme: String
  let authority: String
  let path: String
  /// The raw query after `?`, or nil when the URL has no `?`.
  let query: String?

  init(_ url: String) {
    let schemeEnd = url.range(of: "://")!
    scheme = String(url[..<schemeEnd.lowerBound])
    let rest = url[schemeEnd.upperBound...]
    let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
    authority = String(rest[..<authorityEnd])
    let pathAndQuery = rest[authorityEnd...]
    if let mark = pathAndQuery.firstIndex(of: "?") {
      path = String(pathAndQuery[..<mark])
      query = String(pathAndQuery[pathAndQuery.index(after: mark)...])
    } else {
      path = String(pathAndQuery)
      query = nil
    }
  }

  /// The `Host` header: the authority without the scheme's default port.
  var hostHeader: String {
    let defaultPort = scheme == "https" ? ":443" : ":80"
    return authority.hasSuffix(defaultPort)
      ? String(authority.dropLast(defaultPort.count)) : authority
  }

  /// The URL without its query.
  var base: String { "\(scheme)://\(authority)\(path)" }
}

/// The test vectors shipped in the `Vectors` resource folder.
enum SigV4Vectors {
  static func url(_ file: String) throws -> URL {
    let name = (file as NSString).deletingPathExtension
    let type = (file as NSString).pathExtension
    return try #require(
      Bundle.module.url(forResource: name, withExtension: type, subdirectory: "Vectors"),
      "resource Vectors/\(file) is missing from the test bundle")
  }

  /// Loads a JSON Lines file of cases.
  static func cases(_ file: String) throws -> [SigV4Case] {
    let text = try String(contentsOf: url(file), encoding: .utf8)
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try text.split(separator: "\n").map {
      try decoder.decode(SigV4Case.self, from: Data($0.utf8))
    }
  }

  /// Loads every case of both files: the reference set and the extra one.
  static func allCases() throws -> [SigV4Case] {
    try cases("cases.jsonl") + cases("extra-cases.jsonl")
  }

  /// Parses a SigV4 timestamp such as `20261204T153000Z`.
  static func date(_ timestamp: String) -> Date {
    let digits = Array(timestamp.utf8)
    func number(_ range: Range<Int>) -> Int {
      Int(String(decoding: digits[range], as: UTF8.self))!
    }
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    let components = DateComponents(
      year: number(0..<4), month: number(4..<6), day: number(6..<8), hour: number(9..<11),
      minute: number(11..<13), second: number(13..<15))
    return calendar.date(from: components)!
  }

  static func bytes(hex: String) -> [UInt8] {
    let digits = Array(hex.utf8)
    return stride(from: 0, to: digits.count, by: 2).map {
      UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)!
    }
  }
}
