import Foundation

/// A request as it will go on the wire, before signing.
public struct SigV4Request: Sendable {
  /// The payload hash that leaves the body out of the signature.
  public static let unsignedPayload = "UNSIGNED-PAYLOAD"

  /// The HTTP method exactly as sent (normally upper case).
  public var method: String
  /// The `Host` header value, with `:port` when the port is not the scheme's default.
  public var host: String
  /// The path exactly as sent, already percent-encoded (see `SigV4Encoding.encodePath`).
  public var encodedPath: String
  /// Decoded query parameters in URL order; a nil value is a parameter without `=`.
  public var query: [(name: String, value: String?)]
  /// Headers to sign besides those the signer adds (`host`, `x-amz-*`).
  ///
  /// Every header listed here is signed, so leave out those a proxy or libcurl may change or
  /// drop (`User-Agent`, `Expect`, `Connection`). `Host`, `Authorization`, `X-Amz-Date`,
  /// `X-Amz-Content-SHA256` and `X-Amz-Security-Token` are derived by the signer, so listing
  /// one of them here is a precondition failure.
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

  /// Returns the hex SHA-256 of a body, the value of `payloadHash` for a signed payload.
  public static func payloadHash(of body: some ContiguousBytes) -> String {
    LibCrypto.hex(body.withUnsafeBytes { LibCrypto.sha256($0) })
  }
}
