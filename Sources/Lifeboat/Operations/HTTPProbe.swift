import CCurl
import Foundation

/// One HTTP GET of a health URL through libcurl.
public enum HTTPProbe {
  /// The response to one request.
  public struct Response: Sendable {
    public var status: Int
    public var body: [UInt8]
    public var contentType: String?

    public init(status: Int, body: [UInt8], contentType: String?) {
      self.status = status
      self.body = body
      self.contentType = contentType
    }
  }

  /// The largest body kept, in bytes. A health response is small, and the rest is discarded.
  static let maxBodyBytes = 1 << 20

  /// Sends `GET url` and returns the response. Redirects are not followed, so a 3xx response is
  /// returned as it is.
  ///
  /// - Parameter timeout: seconds for the whole request, connection included.
  /// - Throws: `HTTPProbeError` when no HTTP response arrived (refused, timed out, bad URL).
  public static func get(_ url: String, timeout: Double) throws -> Response {
    guard let handle = curl_easy_init() else {
      throw HTTPProbeError(url: url, message: "curl_easy_init failed")
    }
    defer { curl_easy_cleanup(handle) }

    let body = BodyBuffer()
    let unmanaged = Unmanaged.passRetained(body)
    defer { unmanaged.release() }
    var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

    let milliseconds = max(1, Int(timeout * 1000))
    lb_curl_set_string(handle, CURLOPT_URL, url)
    lb_curl_set_long(handle, CURLOPT_HTTPGET, 1)
    lb_curl_set_long(handle, CURLOPT_NOSIGNAL, 1)
    lb_curl_set_long(handle, CURLOPT_TIMEOUT_MS, milliseconds)
    lb_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, milliseconds)
    lb_curl_set_long(handle, CURLOPT_FOLLOWLOCATION, 0)
    lb_curl_set_string(handle, CURLOPT_USERAGENT, "lifeboat/\(LifeboatVersion.current) health check")
    lb_curl_set_pointer(handle, CURLOPT_WRITEDATA, unmanaged.toOpaque())
    lb_curl_set_data_callback(handle, CURLOPT_WRITEFUNCTION, { data, size, count, context in
      let length = size * count
      guard let context, let data else { return length }
      let buffer = Unmanaged<BodyBuffer>.fromOpaque(context).takeUnretainedValue()
      let room = max(0, HTTPProbe.maxBodyBytes - buffer.bytes.count)
      if room > 0 {
        let pointer = UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self)
        buffer.bytes.append(contentsOf: UnsafeBufferPointer(start: pointer, count: min(room, length)))
      }
      return length
    })
    errorBuffer.withUnsafeMutableBufferPointer { pointer in
      _ = lb_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, pointer.baseAddress)
      let code = curl_easy_perform(handle)
      _ = lb_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, nil)
      body.code = code
    }
    guard body.code == CURLE_OK else {
      let detail = String(cString: errorBuffer)
      let message = detail.isEmpty ? String(cString: curl_easy_strerror(body.code)) : detail
      throw HTTPProbeError(url: url, message: message)
    }

    var status = 0
    lb_curl_get_long(handle, CURLINFO_RESPONSE_CODE, &status)
    var contentType: UnsafeMutablePointer<CChar>?
    lb_curl_get_string(handle, CURLINFO_CONTENT_TYPE, &contentType)
    return Response(status: status, body: body.bytes, contentType: contentType.map { String(cString: $0) })
  }

  /// Returns nil when the response means healthy, else the reason it does not: a status
  /// outside 2xx, or a JSON object body whose `status` is "unhealthy" (any letter case).
  public static func problem(with response: Response) -> String? {
    guard (200..<300).contains(response.status) else {
      return "HTTP status \(response.status)"
    }
    let looksLikeJSON = response.contentType?.lowercased().contains("json") == true
      || response.body.first(where: { ![9, 10, 13, 32].contains($0) }) == UInt8(ascii: "{")
    guard looksLikeJSON,
      let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
      let status = object["status"] as? String
    else { return nil }
    return status.lowercased() == "unhealthy" ? "HTTP \(response.status) with status \"\(status)\"" : nil
  }
}

/// A health request that got no HTTP response.
public struct HTTPProbeError: Error, CustomStringConvertible {
  public var url: String
  public var message: String
  public var description: String { "GET \(url) failed: \(message)" }
}

private final class BodyBuffer {
  var bytes: [UInt8] = []
  var code = CURLE_OK
}
