import CCurl
import Foundation

/// Sends alerts through libcurl: a JSON POST to a webhook, or a message to an SMTP server.
enum AlertTransport {
  /// Limits per delivery, so that an unreachable receiver delays the end of a run by at most this.
  static let connectTimeoutMilliseconds = 10_000
  static let timeoutMilliseconds = 30_000

  /// POSTs `body` as `application/json` to `url`.
  ///
  /// - Throws: `AlertDeliveryError` when the connection fails or the response status is not 2xx.
  static func postJSON(_ body: String, to url: String) throws {
    let transfer = try CurlTransfer(url: url, protocols: "http,https")
    transfer.setString(CURLOPT_COPYPOSTFIELDS, body)
    transfer.addHeader("Content-Type: application/json")
    transfer.addHeader("User-Agent: lifeboat/\(LifeboatVersion.current)")
    try transfer.perform()
    let status = transfer.responseCode
    guard (200..<300).contains(status) else {
      let responseText = String(decoding: transfer.response.prefix(200), as: UTF8.self)
      throw AlertDeliveryError(message: "HTTP \(status)" + (responseText.isEmpty ? "" : ": \(responseText)"))
    }
  }

  /// Sends `message` (headers and body, CRLF line ends) through the server of `smtp`.
  ///
  /// - Throws: `AlertDeliveryError` when the server cannot be reached, STARTTLS is required but not
  ///   offered, authentication fails, or a recipient is rejected.
  static func sendMail(_ message: String, smtp: AlertSettings.SMTP) throws {
    let transfer = try CurlTransfer(url: smtp.url, protocols: "smtp,smtps")
    transfer.setString(CURLOPT_MAIL_FROM, "<\(smtp.from)>")
    for recipient in smtp.recipients { transfer.addRecipient("<\(recipient)>") }
    let mode: curl_usessl
    switch smtp.tls {
    case .try: mode = CURLUSESSL_TRY
    case .require: mode = CURLUSESSL_ALL
    case .off: mode = CURLUSESSL_NONE
    }
    transfer.setLong(CURLOPT_USE_SSL, Int(mode.rawValue))
    if let user = smtp.user { transfer.setString(CURLOPT_USERNAME, user) }
    if let password = smtp.password { transfer.setString(CURLOPT_PASSWORD, password) }
    transfer.setUpload(Array(message.utf8))
    try transfer.perform()
  }
}

/// An alert that could not be delivered, with libcurl's or the receiver's reason.
struct AlertDeliveryError: Error, CustomStringConvertible {
  var message: String
  var description: String { message }
}

/// One libcurl easy transfer: options, an optional upload body, and the response kept in memory.
private final class CurlTransfer {
  private static let globalInit: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

  private let handle: UnsafeMutableRawPointer
  private var headers: UnsafeMutablePointer<curl_slist>?
  private var recipients: UnsafeMutablePointer<curl_slist>?
  private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
  private var upload: [UInt8] = []
  private var uploadOffset = 0
  /// The first 4 KiB of the response body, for error messages.
  private(set) var response: [UInt8] = []

  init(url: String, protocols: String) throws {
    guard CurlTransfer.globalInit == CURLE_OK, let handle = curl_easy_init() else {
      errorBuffer.deallocate()
      throw AlertDeliveryError(message: "libcurl could not be initialised")
    }
    self.handle = handle
    errorBuffer[0] = 0
    setString(CURLOPT_URL, url)
    setString(CURLOPT_PROTOCOLS_STR, protocols)
    lb_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
    // Worker threads and timeouts must not rely on SIGALRM.
    setLong(CURLOPT_NOSIGNAL, 1)
    setLong(CURLOPT_CONNECTTIMEOUT_MS, AlertTransport.connectTimeoutMilliseconds)
    setLong(CURLOPT_TIMEOUT_MS, AlertTransport.timeoutMilliseconds)

    // Without a write function libcurl prints the response body on stdout.
    let context = Unmanaged.passUnretained(self).toOpaque()
    lb_curl_set_data_callback(handle, CURLOPT_WRITEFUNCTION) { data, size, count, context in
      guard let data, let context else { return 0 }
      let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
      let length = size * count
      let kept = min(length, max(0, 4096 - transfer.response.count))
      data.withMemoryRebound(to: UInt8.self, capacity: length) {
        transfer.response.append(contentsOf: UnsafeBufferPointer(start: $0, count: kept))
      }
      return length
    }
    lb_curl_set_pointer(handle, CURLOPT_WRITEDATA, context)
  }

  deinit {
    curl_easy_cleanup(handle)
    curl_slist_free_all(headers)
    curl_slist_free_all(recipients)
    errorBuffer.deallocate()
  }

  func setString(_ option: CURLoption, _ value: String) {
    lb_curl_set_string(handle, option, value)
  }

  func setLong(_ option: CURLoption, _ value: Int) {
    lb_curl_set_long(handle, option, value)
  }

  func addHeader(_ line: String) {
    headers = curl_slist_append(headers, line)
    lb_curl_set_slist(handle, CURLOPT_HTTPHEADER, headers)
  }

  func addRecipient(_ address: String) {
    recipients = curl_slist_append(recipients, address)
    lb_curl_set_slist(handle, CURLOPT_MAIL_RCPT, recipients)
  }

  func setUpload(_ bytes: [UInt8]) {
    upload = bytes
    uploadOffset = 0
    setLong(CURLOPT_UPLOAD, 1)
    lb_curl_set_data_callback(handle, CURLOPT_READFUNCTION) { buffer, size, count, context in
      guard let buffer, let context else { return 0 }
      let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
      let length = min(size * count, transfer.upload.count - transfer.uploadOffset)
      transfer.upload.withUnsafeBytes { raw in
        guard let base = raw.baseAddress else { return }
        memcpy(buffer, base + transfer.uploadOffset, length)
      }
      transfer.uploadOffset += length
      return length
    }
    lb_curl_set_pointer(handle, CURLOPT_READDATA, Unmanaged.passUnretained(self).toOpaque())
  }

  func perform() throws {
    let code = curl_easy_perform(handle)
    guard code == CURLE_OK else {
      let detail = String(cString: errorBuffer)
      throw AlertDeliveryError(message: detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail)
    }
  }

  var responseCode: Int {
    var code = 0
    lb_curl_get_long(handle, CURLINFO_RESPONSE_CODE, &code)
    return code
  }
}
