import Foundation

// NOTE: interface only. The bodies are filled in by the signer implementation; callers
// (the S3 client) code against these signatures.

/// AWS credentials. `description` never shows the secret or the session token.
public struct AWSCredentials: Sendable, CustomStringConvertible {
  public var accessKeyId: String
  public var secretAccessKey: String
  public var sessionToken: String?

  public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil) {
    self.accessKeyId = accessKeyId
    self.secretAccessKey = secretAccessKey
    self.sessionToken = sessionToken
  }

  public var description: String {
    "AWSCredentials(accessKeyId: \(accessKeyId), secretAccessKey: <redacted>\(sessionToken == nil ? "" : ", sessionToken: <redacted>"))"
  }
}

/// A request as it will go on the wire, before signing.
public struct SigV4Request: Sendable {
  public var method: String
  /// The `Host` header value, with `:port` when the port is not the scheme's default.
  public var host: String
  /// The path exactly as sent, already percent-encoded (see `SigV4Encoding.encodePath`).
  public var encodedPath: String
  /// Decoded query parameters in URL order; a nil value is a parameter without `=`.
  public var query: [(name: String, value: String?)]
  /// Headers to sign besides those the signer adds (`host`, `x-amz-*`).
  public var headers: [(name: String, value: String)]
  /// Hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
  public var payloadHash: String

  public init(
    method: String, host: String, encodedPath: String,
    query: [(name: String, value: String?)] = [], headers: [(name: String, value: String)] = [],
    payloadHash: String
  ) {
    self.method = method
    self.host = host
    self.encodedPath = encodedPath
    self.query = query
    self.headers = headers
    self.payloadHash = payloadHash
  }
}

/// AWS Signature Version 4 (`AWS4-HMAC-SHA256`).
public final class SigV4Signer: @unchecked Sendable {
  public let credentials: AWSCredentials
  public let region: String
  public let service: String

  public init(credentials: AWSCredentials, region: String, service: String = "s3") {
    self.credentials = credentials
    self.region = region
    self.service = service
  }

  /// Returns the headers to add to `request`, in order: `X-Amz-Date`,
  /// `X-Amz-Content-SHA256` (S3 only), `X-Amz-Security-Token` (temporary credentials only)
  /// and `Authorization`.
  public func sign(_ request: SigV4Request, date: Date) -> [(name: String, value: String)] {
    fatalError("not implemented")
  }

  /// Returns the query string (without `?`) of a presigned URL for `request`, valid for
  /// `expires` seconds, holding the request's own query parameters and the `X-Amz-*` ones.
  public func presignedQuery(_ request: SigV4Request, date: Date, expires: Int) -> String {
    fatalError("not implemented")
  }
}

/// The percent-encoding rules of SigV4 for S3.
public enum SigV4Encoding {
  /// Encodes an object key's bytes for the URL path: every byte except `A-Z a-z 0-9 - _ . ~`
  /// and `/` becomes `%XX` with upper-case hex, once.
  public static func encodePath(_ bytes: some Sequence<UInt8>) -> String {
    fatalError("not implemented")
  }

  /// Encodes a query name or value: as `encodePath`, but `/` is encoded too.
  public static func encodeQueryComponent(_ value: String) -> String {
    fatalError("not implemented")
  }
}
