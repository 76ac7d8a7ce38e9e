import Foundation

/// A failed S3 request: an error response, a transport failure or an unusable response.
///
/// The description names the request (verb and key) and never contains credentials or
/// signatures.
public struct S3Error: Error, CustomStringConvertible {
  /// The request, as `VERB key` or `VERB bucket?query` for bucket-level calls.
  public var request: String
  /// The HTTP status, or nil when no response arrived.
  public var status: Int?
  /// The S3 error code (`NoSuchKey`, `SlowDown`), or nil when the response had none.
  public var code: String?
  public var message: String
  /// `x-amz-request-id` of the response, for the storage provider's support.
  public var requestId: String?
  /// The libcurl error code of a transport failure.
  public var curlCode: Int?
  /// Whether sending the same request again may succeed.
  public var isRetryable: Bool
  /// The server's clock, from `ServerTime` in the error or the `Date` header.
  public var serverTime: Date?

  public init(
    request: String, status: Int?, code: String?, message: String, requestId: String? = nil,
    curlCode: Int? = nil, isRetryable: Bool, serverTime: Date? = nil
  ) {
    self.request = request
    self.status = status
    self.code = code
    self.message = message
    self.requestId = requestId
    self.curlCode = curlCode
    self.isRetryable = isRetryable
    self.serverTime = serverTime
  }

  public var description: String {
    var text = "S3 \(request) failed: "
    if let status { text += "HTTP \(status)" }
    if let code { text += status == nil ? code : " \(code)" }
    if !message.isEmpty { text += status == nil && code == nil ? message : ": \(message)" }
    if let curlCode { text += " (curl error \(curlCode))" }
    if let requestId { text += " (request id \(requestId))" }
    return text
  }

  /// Whether the failure shows an unhealthy service, which counts against the breaker.
  /// A 4xx response from a working service does not.
  var isServiceFailure: Bool {
    if curlCode != nil { return isRetryable }
    guard let status else { return false }
    return status >= 500 || status == 429 || S3Error.throttlingCodes.contains(code ?? "")
  }

  static let throttlingCodes: Set<String> = [
    "SlowDown", "Throttling", "ThrottlingException", "RequestThrottled", "TooManyRequests",
  ]
  static let retryableCodes: Set<String> = throttlingCodes.union([
    "RequestTimeout", "InternalError", "ServiceUnavailable",
  ])
  static let retryableStatuses: Set<Int> = [429, 500, 502, 503, 504]

  /// Returns whether an error response may succeed when sent again unchanged.
  /// 400, 403 and 404 responses are final, except for the codes that mean a timeout or
  /// throttling.
  static func isRetryable(status: Int, code: String?) -> Bool {
    if let code, retryableCodes.contains(code) { return true }
    return retryableStatuses.contains(status)
  }

  /// libcurl errors after which a new connection may succeed: refused or reset connections,
  /// timeouts, and responses cut short. DNS and TLS verification failures are final.
  static let retryableCurlCodes: Set<Int> = [
    7,  // CURLE_COULDNT_CONNECT
    16,  // CURLE_HTTP2
    18,  // CURLE_PARTIAL_FILE
    28,  // CURLE_OPERATION_TIMEDOUT
    52,  // CURLE_GOT_NOTHING
    55,  // CURLE_SEND_ERROR
    56,  // CURLE_RECV_ERROR
    92,  // CURLE_HTTP2_STREAM
  ]
}
