import CCrypto
import Foundation
import LifeboatSigV4

/// Severity of an `S3ObjectStore` log line.
public enum S3LogLevel: Sendable {
  /// Each request and its result.
  case debug
  /// Retries and circuit breaker changes.
  case info
  /// Conditions the operator should fix, such as a skewed clock.
  case warning
}

/// Receives the store's log lines. Lines never contain credentials or signatures.
public typealias S3LogHandler = @Sendable (S3LogLevel, String) -> Void

/// One S3 request before signing.
struct S3Call {
  var method: String
  /// The full object key (prefix included), or nil for a request on the bucket.
  var key: String?
  var query: [(name: String, value: String?)] = []
  /// Headers to send and sign, besides `Host` and the signer's own.
  var headers: [(name: String, value: String)] = []
  var body: [UInt8]?
  /// The sink of a successful response's body. Nil collects the body in the response.
  var sink: ByteSink?
  /// Statuses whose body goes to the sink. Other bodies are collected as error bodies.
  var sinkStatuses: ClosedRange<Int> = 200...299
  /// Non-2xx statuses that are valid responses rather than errors, such as 404 on HEAD.
  var acceptedStatuses: Set<Int> = []
  /// Whether a 200 response may carry an `<Error>` document, as CompleteMultipartUpload's may.
  var errorMayFollow200 = false
  /// Whether the circuit breaker applies. Clean-up calls bypass it.
  var usesBreaker = true
  /// Overrides `S3Configuration.maxAttempts`.
  var maxAttempts: Int?

  /// The request as shown in messages: verb and key, or verb and bucket query.
  var label: String {
    if let key { return "\(method) \(key)" }
    let names = query.map(\.name).joined(separator: "&")
    return names.isEmpty ? method : "\(method) ?\(names)"
  }
}

/// Signs, sends and retries S3 requests, behind the circuit breaker. Thread-safe.
final class S3Client: @unchecked Sendable {
  let configuration: S3Configuration
  let endpoint: S3Endpoint
  let signer: SigV4Signer
  let breaker: CircuitBreaker
  let counters = S3RequestCounters()
  let retryPolicy: S3RetryPolicy
  private let transport: CurlTransport
  private let clock: () -> Date
  private let sleep: (TimeInterval) -> Void
  let log: S3LogHandler
  private let lock = NSLock()
  private var clockOffsetSeconds: TimeInterval = 0

  static let emptyPayloadHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

  init(
    configuration: S3Configuration, clock: @escaping () -> Date,
    sleep: @escaping (TimeInterval) -> Void, log: @escaping S3LogHandler
  ) throws {
    try configuration.validate()
    self.configuration = configuration
    endpoint = try S3Endpoint(configuration: configuration)
    signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region)
    retryPolicy = S3RetryPolicy(
      maxAttempts: configuration.maxAttempts, baseDelay: configuration.retryBaseDelay,
      maxDelay: configuration.retryMaxDelay)
    transport = CurlTransport(
      options: CurlTransportOptions(
        caBundlePath: configuration.caBundlePath, connectTimeout: configuration.connectTimeout,
        lowSpeedLimit: configuration.lowSpeedLimit, lowSpeedTime: configuration.lowSpeedTime,
        poolSize: configuration.partsInFlight + 2))
    breaker = CircuitBreaker(
      threshold: configuration.breakerThreshold, coolDown: configuration.breakerCoolDown,
      clock: clock, onStateChange: { log(.info, "S3 \($0)") })
    self.clock = clock
    self.sleep = sleep
    self.log = log
  }

  /// Seconds added to the local clock when signing, learnt from `RequestTimeTooSkewed`.
  var clockOffset: TimeInterval {
    lock.lock()
    defer { lock.unlock() }
    return clockOffsetSeconds
  }

  /// Returns the local time corrected by the offset learnt from `RequestTimeTooSkewed`.
  func signingDate() -> Date { clock().addingTimeInterval(clockOffset) }

  /// Sends `call` until it succeeds, fails for good, or runs out of attempts.
  ///
  /// Each attempt is signed when it is sent. `prepare` may change the call before each retry,
  /// given the previous attempt's outcome (a GET resumes where the last attempt stopped).
  /// Throws `S3Error`, `CircuitBreaker.OpenError`, or the error the sink threw.
  func send(
    _ initialCall: S3Call, prepare: ((inout S3Call, HTTPOutcome) -> Void)? = nil
  ) throws -> HTTPResponse {
    var call = initialCall
    let payloadHash =
      call.body.map { SHA256Hasher.hash($0).hexString } ?? Self.emptyPayloadHash
    let maxAttempts = max(call.maxAttempts ?? retryPolicy.maxAttempts, 1)
    var attempt = 0
    var correctedClock = false

    while true {
      attempt += 1
      if call.usesBreaker {
        do {
          try breaker.acquire()
        } catch {
          counters.recordRejection()
          throw error
        }
      }
      counters.recordRequest(method: call.method, isRetry: attempt > 1 || correctedClock)
      let outcome = perform(call, payloadHash: payloadHash)

      let result = evaluate(outcome, call: call)
      switch result {
      case .success(let response):
        if call.usesBreaker { breaker.recordSuccess() }
        return response
      case .sinkFailed(let error):
        if call.usesBreaker { breaker.recordSuccess() }
        throw error
      case .failure(let error):
        if call.usesBreaker {
          if error.isServiceFailure { breaker.recordFailure() } else { breaker.recordSuccess() }
        }
        // A HEAD response has no body, so RequestTimeTooSkewed arrives as a bare 403. The Date
        // header then shows whether the clock is beyond S3's 15-minute window.
        let bareSkew = error.status == 403 && (error.code ?? "").isEmpty
          && error.serverTime.map { abs($0.timeIntervalSince(signingDate())) > 800 } == true
        if error.code == "RequestTimeTooSkewed" || bareSkew, !correctedClock,
          let serverTime = error.serverTime
        {
          correctedClock = true
          attempt -= 1
          correctClock(serverTime: serverTime, call: call)
          prepare?(&call, outcome)
          continue
        }
        guard error.isRetryable, attempt < maxAttempts else { throw error }
        let retryAfter = outcome.response?.header("retry-after").flatMap {
          S3RetryPolicy.parseRetryAfter($0, now: clock())
        }
        let delay = retryPolicy.delay(afterAttempt: attempt, retryAfter: retryAfter)
        log(
          .info,
          "retrying S3 \(call.label) in \(String(format: "%.2f", delay)) s "
            + "(attempt \(attempt + 1) of \(maxAttempts)) after: \(error.shortDescription)")
        sleep(delay)
        prepare?(&call, outcome)
      }
    }
  }

  private enum AttemptResult {
    case success(HTTPResponse)
    case failure(S3Error)
    case sinkFailed(Error)
  }

  private func evaluate(_ outcome: HTTPOutcome, call: S3Call) -> AttemptResult {
    if let sinkError = outcome.sinkError { return .sinkFailed(sinkError) }
    guard outcome.curlCode == 0, let response = outcome.response else {
      return .failure(transportError(outcome, call: call))
    }
    let isSuccess = (200...299).contains(response.status)
    let root = S3XMLElement.parse(response.body)
    let errorCode = root?.name == "Error" ? root?.text(of: "Code") : nil
    if isSuccess {
      if call.errorMayFollow200 && root?.name == "Error" {
        return .failure(responseError(response, root: root, call: call))
      }
      return .success(response)
    }
    // A missing bucket is an error even where a missing key is an accepted response.
    if call.acceptedStatuses.contains(response.status) && errorCode != "NoSuchBucket" {
      return .success(response)
    }
    return .failure(responseError(response, root: root, call: call))
  }

  private func perform(_ call: S3Call, payloadHash: String) -> HTTPOutcome {
    let (host, path) = endpoint.target(key: call.key)
    let request = SigV4Request(
      method: call.method, host: host, encodedPath: path, query: call.query,
      headers: call.headers, payloadHash: payloadHash)
    let signature = signer.sign(request, date: signingDate())
    let url = endpoint.url(host: host, path: path, query: call.query)
    let headers = [(name: "Host", value: host)] + call.headers + signature
    let started = Date()
    let outcome = transport.perform(
      HTTPRequest(
        method: call.method, url: url, headers: headers, body: call.body, sink: call.sink,
        sinkStatuses: call.sinkStatuses))
    let elapsed = String(format: "%.3f", Date().timeIntervalSince(started))
    let result =
      outcome.curlCode == 0
      ? "HTTP \(outcome.response?.status ?? 0)" : "curl error \(outcome.curlCode)"
    log(.debug, "S3 \(call.method) \(S3Redaction.redact(url: url)): \(result) in \(elapsed) s")
    return outcome
  }

  private func transportError(_ outcome: HTTPOutcome, call: S3Call) -> S3Error {
    let message: String
    switch outcome.curlCode {
    case 6, 7:  // CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT
      message = "cannot connect to \(endpoint.displayURL): \(outcome.curlMessage)"
    case 28:  // CURLE_OPERATION_TIMEDOUT
      message = "timed out talking to \(endpoint.displayURL): \(outcome.curlMessage)"
    case 60:  // CURLE_PEER_FAILED_VERIFICATION
      message =
        "TLS certificate of \(endpoint.displayURL) not trusted: \(outcome.curlMessage); "
        + "set the CA bundle (AWS_CA_BUNDLE) if the server uses a private CA"
    default:
      message = "request to \(endpoint.displayURL) failed: \(outcome.curlMessage)"
    }
    return S3Error(
      request: call.label, status: nil, code: nil, message: message,
      curlCode: outcome.curlCode,
      isRetryable: S3Error.retryableCurlCodes.contains(outcome.curlCode))
  }

  private func responseError(
    _ response: HTTPResponse, root: S3XMLElement?, call: S3Call
  ) -> S3Error {
    let errorElement = root?.name == "Error" ? root : nil
    let code = errorElement?.text(of: "Code")
    var message = errorElement?.text(of: "Message") ?? ""
    if message.isEmpty && errorElement == nil {
      message = Self.reasonPhrase(status: response.status)
    }
    let requestId = response.header("x-amz-request-id") ?? errorElement?.text(of: "RequestId")
    var serverTime = errorElement?.text(of: "ServerTime").flatMap(Self.parseISO8601)
    if serverTime == nil { serverTime = response.header("date").flatMap(HTTPDate.parse) }
    return S3Error(
      request: call.label, status: response.status, code: code, message: message,
      requestId: requestId,
      isRetryable: S3Error.isRetryable(status: response.status, code: code),
      serverTime: serverTime)
  }

  private func correctClock(serverTime: Date, call: S3Call) {
    let offset = serverTime.timeIntervalSince(clock())
    lock.lock()
    clockOffsetSeconds = offset
    lock.unlock()
    log(
      .warning,
      "local clock differs from the S3 server's by \(String(format: "%+.0f", offset)) s "
        + "(RequestTimeTooSkewed on \(call.label)); signing with the server's time. "
        + "Synchronise the clock (NTP) to fix this")
  }

  /// Returns a description of bodiless error responses, which HEAD requests get.
  static func reasonPhrase(status: Int) -> String {
    switch status {
    case 400: return "bad request"
    case 403: return "forbidden"
    case 404: return "not found"
    case 405: return "method not allowed"
    case 409: return "conflict"
    case 412: return "precondition failed"
    case 416: return "range not satisfiable"
    case 500: return "internal server error"
    case 502: return "bad gateway"
    case 503: return "service unavailable"
    case 504: return "gateway timeout"
    default: return "unexpected status"
    }
  }

  private static let iso8601Lock = NSLock()
  private static let iso8601WithFraction: ISO8601DateFormatter = {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter
  }()
  private static let iso8601: ISO8601DateFormatter = {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter
  }()

  /// Parses S3's timestamps, such as `2024-06-01T12:00:00.000Z`, with or without fractions.
  static func parseISO8601(_ text: String) -> Date? {
    iso8601Lock.lock()
    defer { iso8601Lock.unlock() }
    return iso8601WithFraction.date(from: text) ?? iso8601.date(from: text)
  }
}

extension S3Error {
  /// The error without the request label, for retry log lines that name the request already.
  var shortDescription: String {
    var parts: [String] = []
    if let status { parts.append("HTTP \(status)") }
    if let code { parts.append(code) }
    if !message.isEmpty { parts.append(message) }
    return parts.joined(separator: " ")
  }
}

/// Digests that S3 request headers carry.
enum S3Checksum {
  /// Returns the Base64 MD5 digest of `bytes`, the value of `Content-MD5`.
  static func contentMD5(_ bytes: [UInt8]) -> String {
    Data(md5(bytes)).base64EncodedString()
  }

  /// Returns the MD5 digest of `bytes`, which is what S3 returns as the ETag of a single PUT.
  static func md5(_ bytes: [UInt8]) -> [UInt8] {
    var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
    var length: UInt32 = 0
    bytes.withUnsafeBytes { buffer in
      _ = EVP_Digest(buffer.baseAddress, buffer.count, &digest, &length, EVP_md5(), nil)
    }
    return Array(digest.prefix(Int(length)))
  }
}
