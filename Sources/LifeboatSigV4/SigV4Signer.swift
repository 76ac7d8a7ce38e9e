import Foundation

/// AWS Signature Version 4 (`AWS4-HMAC-SHA256`), by header (`Authorization`) or by query
/// (presigned URL).
///
/// The signer is pure apart from its cache of derived signing keys, and safe to share between
/// threads. `description` and `dump` never show the secret, the session token or a signing key.
public final class SigV4Signer: Sendable, CustomStringConvertible, CustomReflectable {
  /// The canonicalisation rules that differ between S3 and other AWS services.
  public enum Rules: Sendable {
    /// S3: the path is signed exactly as sent (encoded once, never normalised) and the payload
    /// hash is sent and signed as `X-Amz-Content-SHA256`.
    case s3
    /// Other services: `.`, `..` and empty segments are removed from the path, which is then
    /// percent-encoded again (`%20` signs as `%2520`), and no `X-Amz-Content-SHA256` is added.
    case generic
  }

  /// The algorithm name that starts the string to sign and the `Authorization` value.
  public static let algorithm = "AWS4-HMAC-SHA256"
  /// The maximum validity of a presigned URL SigV4 allows, in seconds (7 days).
  public static let maxPresignedExpiry = 604_800

  public let credentials: AWSCredentials
  public let region: String
  public let service: String
  public let rules: Rules
  private let keyCache: SigningKeyCache

  /// Creates a signer for one credential scope. `rules` defaults to `.s3` when `service` is
  /// `s3` and to `.generic` otherwise.
  public init(
    credentials: AWSCredentials, region: String, service: String = "s3", rules: Rules? = nil
  ) {
    self.credentials = credentials
    self.region = region
    self.service = service
    self.rules = rules ?? (service == "s3" ? .s3 : .generic)
    keyCache = SigningKeyCache(secretAccessKey: credentials.secretAccessKey)
  }

  /// Returns the headers to add to `request`, in order: `X-Amz-Date`,
  /// `X-Amz-Security-Token` (temporary credentials only), `X-Amz-Content-SHA256` (S3 rules
  /// only) and `Authorization`.
  public func sign(_ request: SigV4Request, date: Date) -> [(name: String, value: String)] {
    headerSignature(request, date: date).headers
  }

  /// Returns the query string (without `?`) of a presigned URL for `request`, valid for
  /// `expires` seconds, holding the request's own query parameters and the `X-Amz-*` ones.
  ///
  /// The payload is always `UNSIGNED-PAYLOAD`, regardless of `request.payloadHash`. `expires`
  /// outside `1...604800` is a precondition failure.
  public func presignedQuery(_ request: SigV4Request, date: Date, expires: Int) -> String {
    querySignature(request, date: date, expires: expires).query ?? ""
  }

  /// Signs `request` for header authentication and returns the added headers with the
  /// canonical request, string to sign and signature behind them.
  public func headerSignature(_ request: SigV4Request, date: Date) -> SigV4Signature {
    checkHeaders(request)
    let timestamp = Self.timestamp(date)
    let scope = credentialScope(timestamp: timestamp)
    let token = sessionToken

    var addedHeaders = [(name: "X-Amz-Date", value: timestamp)]
    if let token {
      addedHeaders.append((name: "X-Amz-Security-Token", value: token))
    }
    if rules == .s3 {
      addedHeaders.append((name: "X-Amz-Content-SHA256", value: request.payloadHash))
    }

    let headers = CanonicalRequest.canonicalHeaders(
      [(name: "host", value: request.host)] + request.headers + addedHeaders)
    let canonical = CanonicalRequest(
      method: request.method, canonicalURI: canonicalURI(request.encodedPath),
      query: request.query, canonicalHeaders: headers, payloadHash: request.payloadHash)
    let stringToSign = Self.stringToSign(canonical, timestamp: timestamp, scope: scope)
    let signature = sign(stringToSign, date: timestamp)

    let authorization =
      "\(Self.algorithm) Credential=\(credentials.accessKeyId)/\(scope), "
      + "SignedHeaders=\(canonical.signedHeaders), Signature=\(signature)"
    return SigV4Signature(
      canonicalRequest: canonical.text, stringToSign: stringToSign,
      signedHeaders: canonical.signedHeaders, signature: signature,
      headers: addedHeaders + [(name: "Authorization", value: authorization)], query: nil,
      sessionToken: token)
  }

  /// Signs `request` for query authentication and returns the presigned query with the
  /// canonical request, string to sign and signature behind it.
  ///
  /// Signs `host` and the request's headers, which the client must then send unchanged. The
  /// payload is always `UNSIGNED-PAYLOAD`. `expires` outside `1...604800` is a precondition
  /// failure, because an out-of-range URL is a programming error that S3 would reject only
  /// when the URL is used.
  public func querySignature(
    _ request: SigV4Request, date: Date, expires: Int
  ) -> SigV4Signature {
    precondition(
      (1...Self.maxPresignedExpiry).contains(expires),
      "presigned URL expiry \(expires) s is outside 1...\(Self.maxPresignedExpiry)")
    checkHeaders(request)
    for parameter in request.query {
      precondition(
        !Self.queryAuthParameters.contains(parameter.name.lowercased()),
        "query parameter \(parameter.name) is set by the signer of a presigned URL")
    }
    let timestamp = Self.timestamp(date)
    let scope = credentialScope(timestamp: timestamp)
    let token = sessionToken

    let headers = CanonicalRequest.canonicalHeaders(
      [(name: "host", value: request.host)] + request.headers)
    let signedHeaders = headers.map(\.name).joined(separator: ";")
    var authParameters = [
      (name: "X-Amz-Algorithm", value: Self.algorithm),
      (name: "X-Amz-Credential", value: "\(credentials.accessKeyId)/\(scope)"),
      (name: "X-Amz-Date", value: timestamp),
      (name: "X-Amz-Expires", value: String(expires)),
      (name: "X-Amz-SignedHeaders", value: signedHeaders),
    ]
    if let token {
      authParameters.append((name: "X-Amz-Security-Token", value: token))
    }

    let signedQuery: [(name: String, value: String?)] =
      request.query + authParameters.map { (name: $0.name, value: $0.value) }
    let canonical = CanonicalRequest(
      method: request.method, canonicalURI: canonicalURI(request.encodedPath),
      query: signedQuery, canonicalHeaders: headers,
      payloadHash: SigV4Request.unsignedPayload)
    let stringToSign = Self.stringToSign(canonical, timestamp: timestamp, scope: scope)
    let signature = sign(stringToSign, date: timestamp)

    // The request's own parameters keep their URL order, and the signature comes last. A
    // parameter without a value is sent as `name=`, the form it is signed in.
    var parts: [String] = []
    for parameter in signedQuery + [(name: "X-Amz-Signature", value: signature)] {
      let name = SigV4Encoding.encodeQueryComponent(parameter.name)
      parts.append("\(name)=\(SigV4Encoding.encodeQueryComponent(parameter.value ?? ""))")
    }
    return SigV4Signature(
      canonicalRequest: canonical.text, stringToSign: stringToSign,
      signedHeaders: signedHeaders, signature: signature, headers: [],
      query: parts.joined(separator: "&"), sessionToken: token)
  }

  public var description: String {
    "SigV4Signer(accessKeyId: \(credentials.accessKeyId), region: \(region), "
      + "service: \(service), rules: \(rules))"
  }

  public var customMirror: Mirror {
    Mirror(
      self,
      children: [
        "credentials": credentials, "region": region, "service": service, "rules": rules,
      ])
  }

  // MARK: - Steps

  /// Header names the signer derives, so a request that set them too would sign them twice.
  private static let reservedHeaders: Set<String> = [
    "host", "authorization", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token",
  ]

  /// Lower-cased names of the query parameters a presigned URL's signature consists of.
  private static let queryAuthParameters: Set<String> = [
    "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires",
    "x-amz-signedheaders", "x-amz-security-token", "x-amz-signature",
  ]

  private func checkHeaders(_ request: SigV4Request) {
    for header in request.headers {
      precondition(
        !Self.reservedHeaders.contains(header.name.lowercased()),
        "header \(header.name) is set by the SigV4 signer and must not be in the request")
    }
  }

  /// The session token, or nil for long-term credentials. An empty token counts as none, as
  /// an unset `AWS_SESSION_TOKEN` often reads as empty.
  private var sessionToken: String? {
    guard let token = credentials.sessionToken, !token.isEmpty else { return nil }
    return token
  }

  private func credentialScope(timestamp: String) -> String {
    "\(timestamp.prefix(8))/\(region)/\(service)/aws4_request"
  }

  private func canonicalURI(_ encodedPath: String) -> String {
    switch rules {
    case .s3:
      return encodedPath.isEmpty ? "/" : encodedPath
    case .generic:
      return SigV4Encoding.encodePath(SigV4Encoding.removeDotSegments(Array(encodedPath.utf8)))
    }
  }

  private static func stringToSign(
    _ canonical: CanonicalRequest, timestamp: String, scope: String
  ) -> String {
    let hash = LibCrypto.hex(LibCrypto.sha256(canonical.text))
    return [algorithm, timestamp, scope, hash].joined(separator: "\n")
  }

  private func sign(_ stringToSign: String, date timestamp: String) -> String {
    let key = keyCache.key(date: String(timestamp.prefix(8)), region: region, service: service)
    return LibCrypto.hex(LibCrypto.hmacSHA256(key: key, data: stringToSign))
  }

  /// Formats a date as SigV4's ISO 8601 basic timestamp in UTC, `YYYYMMDDTHHMMSSZ`, dropping
  /// fractions of a second.
  static func timestamp(_ date: Date) -> String {
    var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
    var fields = tm()
    guard gmtime_r(&seconds, &fields) != nil else {
      preconditionFailure("date \(date) cannot be expressed as a UTC calendar time")
    }
    func digits(_ value: Int32, _ width: Int) -> String {
      let text = String(value)
      return String(repeating: "0", count: max(0, width - text.count)) + text
    }
    return digits(fields.tm_year + 1900, 4) + digits(fields.tm_mon + 1, 2)
      + digits(fields.tm_mday, 2) + "T" + digits(fields.tm_hour, 2) + digits(fields.tm_min, 2)
      + digits(fields.tm_sec, 2) + "Z"
  }
}
