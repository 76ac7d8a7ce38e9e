import Foundation

/// A signed request's result together with the intermediate strings, so that tests can compare
/// each step and a `SignatureDoesNotMatch` can be diagnosed against the server's canonical
/// request.
///
/// `description`, `debugDescription` and `dump` show only `redactedCanonicalRequest`, the string
/// to sign and the signed headers. They leave out the signature, the headers and the query,
/// because those authorise the request (a presigned URL is a bearer credential), and the session
/// token.
public struct SigV4Signature: Sendable, CustomStringConvertible, CustomDebugStringConvertible,
  CustomReflectable
{
  /// The canonical request: method, URI, query, headers, signed headers and payload hash,
  /// joined by `\n`. It contains the session token, if any.
  public let canonicalRequest: String
  /// `AWS4-HMAC-SHA256`, the timestamp, the credential scope and the canonical request's hex
  /// SHA-256, joined by `\n`.
  public let stringToSign: String
  /// The signed header names, lower-case, sorted and joined by `;`.
  public let signedHeaders: String
  /// The hex HMAC-SHA256 of the string to sign.
  public let signature: String
  /// Header authentication: the headers to add, `Authorization` last. Query authentication:
  /// empty.
  public let headers: [(name: String, value: String)]
  /// Query authentication: the query string of the presigned URL, without `?`. Header
  /// authentication: nil.
  public let query: String?
  /// The canonical request with the session token replaced by `<redacted>`, for logs.
  public let redactedCanonicalRequest: String

  init(
    canonicalRequest: String, stringToSign: String, signedHeaders: String, signature: String,
    headers: [(name: String, value: String)], query: String?, sessionToken: String?
  ) {
    self.canonicalRequest = canonicalRequest
    self.stringToSign = stringToSign
    self.signedHeaders = signedHeaders
    self.signature = signature
    self.headers = headers
    self.query = query
    var redacted = canonicalRequest
    if let token = sessionToken, !token.isEmpty {
      // The token appears as a header value in header authentication and percent-encoded in
      // the query of a presigned URL.
      redacted = redacted.replacingOccurrences(of: token, with: "<redacted>")
      redacted = redacted.replacingOccurrences(
        of: SigV4Encoding.encodeQueryComponent(token), with: "<redacted>")
    }
    redactedCanonicalRequest = redacted
  }

  public var description: String {
    "SigV4Signature(signedHeaders: \(signedHeaders), canonicalRequest: "
      + "\(String(reflecting: redactedCanonicalRequest)), stringToSign: "
      + "\(String(reflecting: stringToSign)))"
  }

  public var debugDescription: String { description }

  public var customMirror: Mirror {
    Mirror(
      self,
      children: [
        "signedHeaders": signedHeaders,
        "canonicalRequest": redactedCanonicalRequest,
        "stringToSign": stringToSign,
      ],
      displayStyle: .struct)
  }
}
