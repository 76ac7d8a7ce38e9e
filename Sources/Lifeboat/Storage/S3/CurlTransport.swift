import CCurl
import Foundation

/// One HTTP exchange as libcurl sends it: nothing is added but `Host` handling and the
/// suppression of `Expect: 100-continue`.
struct HTTPRequest {
  var method: String
  var url: String
  /// Sent in this order. Must include `Host` when it differs from the URL's authority.
  var headers: [(name: String, value: String)]
  /// The request body, sent with an exact `Content-Length`. Nil sends no body.
  var body: [UInt8]?
  /// Receives the body of a response with a status in `sinkStatuses`. Other bodies are
  /// collected in `HTTPResponse.body`.
  var sink: ByteSink?
  var sinkStatuses: ClosedRange<Int> = 200...299
}

struct HTTPResponse {
  var status: Int
  /// Header names are lower-case.
  var headers: [(name: String, value: String)]
  /// The body, unless a 2xx body went to the request's sink.
  var body: [UInt8]

  /// Returns the last value of header `name` (lower-case).
  func header(_ name: String) -> String? {
    headers.last { $0.name == name }?.value
  }
}

/// The result of `CurlTransport.perform`: a response, or the libcurl error that ended it.
struct HTTPOutcome {
  /// The response, when a status line arrived. Partial when `curlCode` is not 0.
  var response: HTTPResponse?
  /// 0 (`CURLE_OK`) when the exchange completed.
  var curlCode: Int
  var curlMessage: String
  /// Bytes of the body that reached the sink.
  var bytesDelivered: Int64
  /// The error the sink threw, which ended the transfer.
  var sinkError: Error?
}

/// Settings of every connection.
struct CurlTransportOptions {
  var caBundlePath: String?
  var connectTimeout: TimeInterval
  /// A transfer slower than `lowSpeedLimit` bytes/s for `lowSpeedTime` seconds is aborted.
  var lowSpeedLimit: Int
  var lowSpeedTime: TimeInterval
  /// Easy handles kept for reuse. Each keeps its connections alive.
  var poolSize: Int
}

/// HTTP over libcurl easy handles, reused from a small pool so connections stay open.
///
/// TLS peer and host verification are always on. Thread-safe, because each transfer uses a
/// handle of its own.
final class CurlTransport: @unchecked Sendable {
  private let options: CurlTransportOptions
  private let lock = NSLock()
  private var idleHandles: [UnsafeMutableRawPointer] = []

  private static let globalInit: Void = {
    _ = curl_global_init(Int(CURL_GLOBAL_DEFAULT))
  }()

  init(options: CurlTransportOptions) {
    _ = Self.globalInit
    self.options = options
  }

  deinit {
    for handle in idleHandles { curl_easy_cleanup(handle) }
  }

  /// Sends `request` and waits for the whole response.
  func perform(_ request: HTTPRequest) -> HTTPOutcome {
    guard let handle = acquireHandle() else {
      return HTTPOutcome(
        response: nil, curlCode: Int(CURLE_OUT_OF_MEMORY.rawValue),
        curlMessage: "curl_easy_init failed", bytesDelivered: 0, sinkError: nil)
    }
    defer { releaseHandle(handle) }

    let transfer = Transfer(
      body: request.body ?? [], sink: request.sink, sinkStatuses: request.sinkStatuses)
    let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
    errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    defer { errorBuffer.deallocate() }

    var headerList: UnsafeMutablePointer<curl_slist>?
    for header in request.headers {
      headerList = curl_slist_append(headerList, "\(header.name): \(header.value)")
    }
    // libcurl would wait for `100 Continue` before sending large bodies. S3 needs no such
    // round trip, and some servers never send it.
    headerList = curl_slist_append(headerList, "Expect:")
    defer { curl_slist_free_all(headerList) }

    let code: CURLcode = withExtendedLifetime(transfer) {
      let context = Unmanaged.passUnretained(transfer).toOpaque()
      configure(handle, request: request, headers: headerList, context: context)
      _ = lb_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
      return curl_easy_perform(handle)
    }

    var message = ""
    if code != CURLE_OK {
      let detail = String(cString: errorBuffer)
      message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
    }
    let response =
      transfer.status == 0
      ? nil
      : HTTPResponse(status: transfer.status, headers: transfer.headers, body: transfer.collected)
    return HTTPOutcome(
      response: response, curlCode: Int(code.rawValue), curlMessage: message,
      bytesDelivered: transfer.delivered, sinkError: transfer.sinkError)
  }

  private func configure(
    _ handle: UnsafeMutableRawPointer, request: HTTPRequest,
    headers: UnsafeMutablePointer<curl_slist>?, context: UnsafeMutableRawPointer
  ) {
    _ = lb_curl_set_string(handle, CURLOPT_URL, request.url)
    _ = lb_curl_set_string(handle, CURLOPT_PROTOCOLS_STR, "http,https")
    _ = lb_curl_set_long(handle, CURLOPT_NOSIGNAL, 1)
    // The path is already encoded byte by byte, and `..`, `.` and `//` are parts of keys.
    _ = lb_curl_set_long(handle, CURLOPT_PATH_AS_IS, 1)
    _ = lb_curl_set_long(handle, CURLOPT_SSL_VERIFYPEER, 1)
    _ = lb_curl_set_long(handle, CURLOPT_SSL_VERIFYHOST, 2)
    if let caBundlePath = options.caBundlePath {
      _ = lb_curl_set_string(handle, CURLOPT_CAINFO, caBundlePath)
    }
    _ = lb_curl_set_long(
      handle, CURLOPT_CONNECTTIMEOUT_MS, Int(max(options.connectTimeout, 0.001) * 1000))
    _ = lb_curl_set_long(handle, CURLOPT_LOW_SPEED_LIMIT, max(options.lowSpeedLimit, 1))
    _ = lb_curl_set_long(
      handle, CURLOPT_LOW_SPEED_TIME, max(Int(options.lowSpeedTime.rounded(.up)), 1))
    _ = lb_curl_set_long(handle, CURLOPT_TCP_KEEPALIVE, 1)
    _ = lb_curl_set_slist(handle, CURLOPT_HTTPHEADER, headers)

    _ = lb_curl_set_data_callback(handle, CURLOPT_HEADERFUNCTION, curlHeaderCallback)
    _ = lb_curl_set_pointer(handle, CURLOPT_HEADERDATA, context)
    _ = lb_curl_set_data_callback(handle, CURLOPT_WRITEFUNCTION, curlWriteCallback)
    _ = lb_curl_set_pointer(handle, CURLOPT_WRITEDATA, context)

    switch request.method {
    case "HEAD":
      _ = lb_curl_set_long(handle, CURLOPT_NOBODY, 1)
    case "GET" where request.body == nil:
      _ = lb_curl_set_long(handle, CURLOPT_HTTPGET, 1)
    default:
      if let body = request.body {
        // UPLOAD sends the body from the read callback with `Content-Length` set from
        // INFILESIZE. CUSTOMREQUEST then only changes the verb on the request line.
        _ = lb_curl_set_long(handle, CURLOPT_UPLOAD, 1)
        _ = lb_curl_set_off(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(body.count))
        _ = lb_curl_set_data_callback(handle, CURLOPT_READFUNCTION, curlReadCallback)
        _ = lb_curl_set_pointer(handle, CURLOPT_READDATA, context)
        // libcurl rewinds the body when it resends a request on a fresh connection.
        _ = lb_curl_set_seek_callback(handle, curlSeekCallback)
        _ = lb_curl_set_pointer(handle, CURLOPT_SEEKDATA, context)
      }
      if request.method != "PUT" || request.body == nil {
        _ = lb_curl_set_string(handle, CURLOPT_CUSTOMREQUEST, request.method)
      }
    }
  }

  private func acquireHandle() -> UnsafeMutableRawPointer? {
    lock.lock()
    let handle = idleHandles.popLast()
    lock.unlock()
    if let handle {
      // Reset keeps the handle's open connections, DNS cache and TLS sessions.
      curl_easy_reset(handle)
      return handle
    }
    return curl_easy_init()
  }

  private func releaseHandle(_ handle: UnsafeMutableRawPointer) {
    lock.lock()
    if idleHandles.count < max(options.poolSize, 1) {
      idleHandles.append(handle)
      lock.unlock()
    } else {
      lock.unlock()
      curl_easy_cleanup(handle)
    }
  }
}

/// The state of one transfer, shared with the libcurl callbacks.
private final class Transfer {
  /// The size beyond which error bodies are cut. S3 error documents are a few hundred bytes.
  static let maxCollectedErrorBody = 1 << 20

  let body: [UInt8]
  var bodyOffset = 0
  let sink: ByteSink?
  let sinkStatuses: ClosedRange<Int>
  var status = 0
  var headers: [(name: String, value: String)] = []
  var collected: [UInt8] = []
  var delivered: Int64 = 0
  var sinkError: Error?

  init(body: [UInt8], sink: ByteSink?, sinkStatuses: ClosedRange<Int>) {
    self.body = body
    self.sink = sink
    self.sinkStatuses = sinkStatuses
  }

  func receiveHeader(_ line: String) {
    let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
    if trimmed.hasPrefix("HTTP/") {
      // A new status line starts a new response, e.g. after `100 Continue`.
      let fields = trimmed.split(separator: " ", maxSplits: 2)
      status = fields.count > 1 ? Int(fields[1]) ?? 0 : 0
      headers = []
      collected = []
      return
    }
    guard let colon = trimmed.firstIndex(of: ":") else { return }
    let name = trimmed[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
    let value = trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    headers.append((name: name, value: value))
  }

  /// Returns the bytes consumed. Any other count makes libcurl abort the transfer.
  func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Int {
    if let sink, sinkStatuses.contains(status) {
      do {
        try sink.write(bytes)
        delivered += Int64(bytes.count)
        return bytes.count
      } catch {
        sinkError = error
        return 0
      }
    }
    let room = sink == nil ? bytes.count : max(Self.maxCollectedErrorBody - collected.count, 0)
    collected.append(contentsOf: bytes.prefix(room))
    return bytes.count
  }

  func sendBody(into buffer: UnsafeMutableRawBufferPointer) -> Int {
    let count = min(buffer.count, body.count - bodyOffset)
    guard count > 0 else { return 0 }
    body.withUnsafeBytes { source in
      buffer.copyMemory(
        from: UnsafeRawBufferPointer(rebasing: source[bodyOffset..<bodyOffset + count]))
    }
    bodyOffset += count
    return count
  }

  func seek(to offset: Int64) -> Bool {
    guard offset >= 0, offset <= Int64(body.count) else { return false }
    bodyOffset = Int(offset)
    return true
  }
}

private func curlHeaderCallback(
  _ pointer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
  _ context: UnsafeMutableRawPointer?
) -> Int {
  let length = size * count
  guard let pointer, let context else { return length }
  let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
  let bytes = UnsafeRawBufferPointer(start: pointer, count: length)
  transfer.receiveHeader(String(decoding: bytes, as: UTF8.self))
  return length
}

private func curlWriteCallback(
  _ pointer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
  _ context: UnsafeMutableRawPointer?
) -> Int {
  let length = size * count
  guard let pointer, let context else { return length }
  let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
  return transfer.receiveBody(UnsafeRawBufferPointer(start: pointer, count: length))
}

private func curlReadCallback(
  _ pointer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
  _ context: UnsafeMutableRawPointer?
) -> Int {
  guard let pointer, let context else { return 0 }
  let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
  return transfer.sendBody(into: UnsafeMutableRawBufferPointer(start: pointer, count: size * count))
}

private func curlSeekCallback(
  _ context: UnsafeMutableRawPointer?, _ offset: curl_off_t, _ origin: Int32
) -> Int32 {
  guard let context, origin == SEEK_SET else { return 1 }  // CURL_SEEKFUNC_FAIL
  let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
  return transfer.seek(to: Int64(offset)) ? 0 : 1  // CURL_SEEKFUNC_OK
}
