import Foundation
import LifeboatSigV4
import Testing

/// Checks the signer against every reference case, step by step: canonical request, string to
/// sign, signature, then the added headers or the presigned URL, so the first failing check
/// names the wrong step.
struct SigV4SignerVectorTests {
  @Test func caseCounts() throws {
    #expect(try SigV4Vectors.cases("cases.jsonl").count == 78)
    #expect(try SigV4Vectors.cases("extra-cases.jsonl").count == 16)
  }

  @Test(arguments: try SigV4Vectors.allCases().filter { $0.kind == "header" })
  func headerCase(_ vector: SigV4Case) throws {
    let result = vector.signer.headerSignature(vector.request, date: vector.date)
    #expect(result.canonicalRequest == vector.canonicalRequest)
    #expect(result.stringToSign == vector.stringToSign)
    #expect(result.signature == vector.signature)
    #expect(result.signedHeaders == vector.signedHeaders.joined(separator: ";"))
    #expect(result.query == nil)

    let expectedHeaders = try #require(vector.addedHeaders)
    #expect(result.headers.map { [$0.name, $0.value] } == expectedHeaders)
    #expect(result.headers.last?.name == "Authorization")
    #expect(result.headers.last?.value == vector.authorization)

    let headers = vector.signer.sign(vector.request, date: vector.date)
    #expect(headers.map { [$0.name, $0.value] } == expectedHeaders)
  }

  @Test(arguments: try SigV4Vectors.allCases().filter { $0.kind == "presigned" })
  func presignedCase(_ vector: SigV4Case) throws {
    let expires = try #require(vector.expires)
    let result = vector.signer.querySignature(vector.request, date: vector.date, expires: expires)
    #expect(result.canonicalRequest == vector.canonicalRequest)
    #expect(result.stringToSign == vector.stringToSign)
    #expect(result.signature == vector.signature)
    #expect(result.signedHeaders == vector.signedHeaders.joined(separator: ";"))
    #expect(result.headers.isEmpty)

    let query = try #require(result.query)
    #expect("\(vector.parsedURL.base)?\(query)" == vector.presignedUrl)
    let presigned = vector.signer.presignedQuery(
      vector.request, date: vector.date, expires: expires)
    #expect(presigned == query)
  }

  /// A `PUT` of body `x` for object keys with characters that must be percent-encoded (`=`, space, `+`, `%`, `?`, `#`, NFC and NFD accents, dot segments, `//`).
  @Test(arguments: try ObjectKeyVectors.load().vectors)
  func objectKeyCase(_ vector: ObjectKeyVectors.Vector) throws {
    let file = try ObjectKeyVectors.load()
    let keyBytes = SigV4Vectors.bytes(hex: vector.keyUtf8Hex)
    #expect(Array(vector.key.utf8) == keyBytes)

    let path = "/\(file.bucket)/" + SigV4Encoding.encodePath(keyBytes)
    #expect(path == vector.canonicalUri)

    let signer = SigV4Signer(
      credentials: AWSCredentials(accessKeyId: file.accessKey, secretAccessKey: file.secretKey),
      region: file.region)
    #expect(SigV4Request.payloadHash(of: Array(file.body.utf8)) == file.xAmzContentSha256)
    let request = SigV4Request(
      method: file.method, host: file.host, encodedPath: path,
      payloadHash: file.xAmzContentSha256)
    let result = signer.headerSignature(request, date: SigV4Vectors.date(file.xAmzDate))
    #expect(result.canonicalRequest.split(separator: "\n")[1] == vector.canonicalUri)
    #expect(result.signedHeaders == file.signedHeaders)
    #expect(result.signature == vector.signature)
  }
}

/// `Vectors/object-key-encoding.json`: canonical URI and signature of a `PUT` for each of a list
/// of object keys, with one set of credentials, host, date and body.
struct ObjectKeyVectors: Decodable {
  struct Vector: Decodable, Sendable, CustomTestStringConvertible {
    let key: String
    let keyUtf8Hex: String
    let canonicalUri: String
    let signature: String

    var testDescription: String { key }
  }

  let accessKey: String
  let secretKey: String
  let region: String
  let host: String
  let xAmzDate: String
  let method: String
  let bucket: String
  let body: String
  let xAmzContentSha256: String
  let signedHeaders: String
  let vectors: [Vector]

  static func load() throws -> ObjectKeyVectors {
    let data = try Data(contentsOf: SigV4Vectors.url("object-key-encoding.json"))
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try decoder.decode(ObjectKeyVectors.self, from: data)
  }
}
