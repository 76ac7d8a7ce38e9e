import Dispatch
import Foundation
import Testing

@testable import LifeboatSigV4

struct SigV4SignerTests {
  static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
  static let token = "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+tok/en=="
  static let credentials = AWSCredentials(
    accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: secret, sessionToken: token)
  static let request = SigV4Request(
    method: "GET", host: "127.0.0.1:9000", encodedPath: "/lifeboat-test/a%20b.txt",
    query: [(name: "versionId", value: "v1")], headers: [(name: "Range", value: "bytes=0-9")],
    payloadHash: SigV4Request.payloadHash(of: [UInt8]()))
  static let date = SigV4Vectors.date("20261204T153000Z")

  @Test func defaultRules() {
    let s3 = SigV4Signer(credentials: Self.credentials, region: "us-east-1")
    let generic = SigV4Signer(credentials: Self.credentials, region: "us-east-1", service: "sts")
    let forced = SigV4Signer(
      credentials: Self.credentials, region: "us-east-1", service: "s3", rules: .generic)
    #expect(s3.rules == .s3)
    #expect(generic.rules == .generic)
    #expect(forced.rules == .generic)
  }

  @Test func genericRulesAddNoContentHash() {
    let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1", rules: .generic)
    let names = signer.sign(Self.request, date: Self.date).map(\.name)
    #expect(names == ["X-Amz-Date", "X-Amz-Security-Token", "Authorization"])
  }

  @Test func payloadHashOfBody() {
    #expect(
      SigV4Request.payloadHash(of: [UInt8]())
        == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    #expect(
      SigV4Request.payloadHash(of: Data("x".utf8))
        == "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881")
  }

  @Test func emptyTokenIsNoToken() {
    let withoutToken = SigV4Signer(
      credentials: AWSCredentials(accessKeyId: "AKID", secretAccessKey: Self.secret),
      region: "us-east-1")
    let emptyToken = SigV4Signer(
      credentials: AWSCredentials(
        accessKeyId: "AKID", secretAccessKey: Self.secret, sessionToken: ""),
      region: "us-east-1")
    let expected = withoutToken.sign(Self.request, date: Self.date)
    let actual = emptyToken.sign(Self.request, date: Self.date)
    #expect(actual.map { [$0.name, $0.value] } == expected.map { [$0.name, $0.value] })
    let presigned = emptyToken.presignedQuery(Self.request, date: Self.date, expires: 60)
    #expect(!presigned.contains("X-Amz-Security-Token"))
  }

  @Test func fractionalSecondsDropped() {
    let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1")
    let late = Self.date.addingTimeInterval(0.999)
    #expect(signer.sign(Self.request, date: late)[0].value == "20261204T153000Z")
    #expect(SigV4Signer.timestamp(Self.date.addingTimeInterval(-0.5)) == "20261204T152959Z")
  }

  @Test func timestampFormat() {
    #expect(SigV4Signer.timestamp(Date(timeIntervalSince1970: 0)) == "19700101T000000Z")
    #expect(SigV4Signer.timestamp(SigV4Vectors.date("20240229T235959Z")) == "20240229T235959Z")
  }

  /// Signs from many threads at once, across several dates so that the key cache fills, is
  /// cleared and refills, and compares every result with a fresh signer's.
  @Test func concurrentSigning() {
    let signer = SigV4Signer(credentials: Self.credentials, region: "eu-west-1")
    let dates = (0..<(SigningKeyCache.capacity + 3)).map {
      Self.date.addingTimeInterval(Double($0) * 86_400)
    }
    let expected = dates.map {
      SigV4Signer(credentials: Self.credentials, region: "eu-west-1")
        .headerSignature(Self.request, date: $0).signature
    }
    let iterations = 400
    let lock = NSLock()
    var mismatches: [Int] = []
    DispatchQueue.concurrentPerform(iterations: iterations) { index in
      let dateIndex = index % dates.count
      let signature = signer.headerSignature(Self.request, date: dates[dateIndex]).signature
      if signature != expected[dateIndex] {
        lock.withLock { mismatches.append(index) }
      }
    }
    #expect(mismatches.isEmpty)
  }

  @Test func keyCacheBounded() {
    let cache = SigningKeyCache(secretAccessKey: Self.secret)
    for day in 1...(SigningKeyCache.capacity * 2) {
      let date = "202612" + (day < 10 ? "0\(day)" : "\(day)")
      let key = cache.key(date: date, region: "us-east-1", service: "s3")
      let derived = SigningKeyCache.deriveKey(
        secretAccessKey: Self.secret, date: date, region: "us-east-1", service: "s3")
      #expect(key == derived)
      #expect(cache.count <= SigningKeyCache.capacity)
    }
  }

  /// The signing key of the AWS documentation's example (secret `wJalrXUtnFEMI/K7MDENG+bPxRfi
  /// CYEXAMPLEKEY`, 20150830, us-east-1, iam).
  @Test func signingKeyDerivation() {
    let key = SigningKeyCache.deriveKey(
      secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", date: "20150830",
      region: "us-east-1", service: "iam")
    #expect(
      LibCrypto.hex(key) == "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9")
  }

  @Test func presignedSessionTokenOrder() throws {
    let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1")
    let query = signer.presignedQuery(Self.request, date: Self.date, expires: 900)
    let names = query.split(separator: "&").map { String($0.split(separator: "=")[0]) }
    #expect(
      names == [
        "versionId", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
        "X-Amz-SignedHeaders", "X-Amz-Security-Token", "X-Amz-Signature",
      ])
    #expect(query.contains("X-Amz-SignedHeaders=host%3Brange&"))
  }

  @Test func presignedExpiryTooShort() async {
    await #expect(processExitsWith: .failure) {
      let signer = SigV4Signer(
        credentials: AWSCredentials(accessKeyId: "AKID", secretAccessKey: "secret"),
        region: "us-east-1")
      let request = SigV4Request(
        method: "GET", host: "example.com", encodedPath: "/b/k", payloadHash: "UNSIGNED-PAYLOAD")
      _ = signer.presignedQuery(request, date: Date(), expires: 0)
    }
  }

  @Test func presignedExpiryTooLong() async {
    await #expect(processExitsWith: .failure) {
      let signer = SigV4Signer(
        credentials: AWSCredentials(accessKeyId: "AKID", secretAccessKey: "secret"),
        region: "us-east-1")
      let request = SigV4Request(
        method: "GET", host: "example.com", encodedPath: "/b/k", payloadHash: "UNSIGNED-PAYLOAD")
      _ = signer.presignedQuery(request, date: Date(), expires: 604_801)
    }
  }

  @Test func reservedHeaderRejected() async {
    await #expect(processExitsWith: .failure) {
      let signer = SigV4Signer(
        credentials: AWSCredentials(accessKeyId: "AKID", secretAccessKey: "secret"),
        region: "us-east-1")
      let request = SigV4Request(
        method: "GET", host: "example.com", encodedPath: "/b/k",
        headers: [(name: "X-Amz-Date", value: "20261204T153000Z")], payloadHash: "UNSIGNED-PAYLOAD")
      _ = signer.sign(request, date: Date())
    }
  }

  // MARK: - Secrets stay out of descriptions

  /// Returns each text form a log could show of a value: `description`, `debugDescription`
  /// and `dump`.
  private func renderings(_ value: Any) -> [String] {
    var dumped = ""
    dump(value, to: &dumped)
    return [String(describing: value), String(reflecting: value), dumped]
  }

  private func expectNoSecrets(_ value: Any, signingKey: String) {
    for text in renderings(value) {
      #expect(!text.contains(Self.secret), "secret in \(text)")
      #expect(!text.contains(Self.token), "session token in \(text)")
      #expect(
        !text.contains(SigV4Encoding.encodeQueryComponent(Self.token)),
        "encoded session token in \(text)")
      #expect(!text.contains(signingKey), "signing key in \(text)")
    }
  }

  @Test func secretsRedacted() {
    let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1")
    let signingKey = LibCrypto.hex(
      SigningKeyCache.deriveKey(
        secretAccessKey: Self.secret, date: "20261204", region: "us-east-1", service: "s3"))
    let header = signer.headerSignature(Self.request, date: Self.date)
    let presigned = signer.querySignature(Self.request, date: Self.date, expires: 60)
    let cache = SigningKeyCache(secretAccessKey: Self.secret)
    _ = cache.key(date: "20261204", region: "us-east-1", service: "s3")

    for value: Any in [Self.credentials, signer, header, presigned, cache] {
      expectNoSecrets(value, signingKey: signingKey)
    }
    #expect(header.canonicalRequest.contains(Self.token))
    #expect(header.redactedCanonicalRequest.contains("x-amz-security-token:<redacted>\n"))
    #expect(presigned.redactedCanonicalRequest.contains("X-Amz-Security-Token=<redacted>&"))
    #expect("\(Self.credentials)".contains("AKIAIOSFODNN7EXAMPLE"))
  }

  /// Signatures and presigned queries authorise a request, so descriptions leave them out.
  @Test func signatureNotDescribed() {
    let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1")
    let presigned = signer.querySignature(Self.request, date: Self.date, expires: 60)
    for text in renderings(presigned) {
      #expect(!text.contains(presigned.signature))
    }
  }
}
