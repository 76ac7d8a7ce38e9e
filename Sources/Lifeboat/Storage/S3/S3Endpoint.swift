import Foundation
import LifeboatSigV4

/// The URL layout of one bucket: which host and path a request for a key goes to.
struct S3Endpoint: Sendable {
  let scheme: String
  /// `host[:port]` of the endpoint, the port only when it is not the scheme's default.
  let authority: String
  /// The endpoint URL's own path without a trailing `/`, usually empty.
  let basePath: String
  let bucket: String
  let addressingStyle: S3Configuration.AddressingStyle

  init(configuration: S3Configuration) throws {
    let endpoint = configuration.endpoint
    guard let components = URLComponents(string: endpoint),
      let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
      var host = components.host, !host.isEmpty
    else {
      throw LifeboatError(
        .configuration, "invalid S3 endpoint URL \(endpoint): expected http(s)://host[:port]")
    }
    guard components.query == nil, components.fragment == nil, components.user == nil else {
      throw LifeboatError(
        .configuration,
        "invalid S3 endpoint URL \(endpoint): it must not contain a query, fragment or user")
    }
    if host.contains(":") && !host.hasPrefix("[") { host = "[\(host)]" }
    let defaultPort = scheme == "https" ? 443 : 80
    if let port = components.port, port != defaultPort {
      authority = "\(host):\(port)"
    } else {
      authority = host
    }
    self.scheme = scheme
    var path = components.percentEncodedPath
    while path.hasSuffix("/") { path.removeLast() }
    basePath = path
    bucket = configuration.bucket
    addressingStyle = configuration.addressingStyle
  }

  /// Returns the `Host` header and encoded path of a request for `key`, or for the bucket
  /// itself when `key` is nil. Every byte of the key is encoded once and nothing is normalised.
  func target(key: String?) -> (host: String, path: String) {
    let encodedKey = key.map { SigV4Encoding.encodePath($0.utf8) }
    switch addressingStyle {
    case .path:
      let bucketPath = basePath + "/" + SigV4Encoding.encodePath(bucket.utf8)
      guard let encodedKey else { return (authority, bucketPath) }
      return (authority, bucketPath + "/" + encodedKey)
    case .virtualHosted:
      return ("\(bucket).\(authority)", basePath + "/" + (encodedKey ?? ""))
    }
  }

  /// Returns the full URL for `host`, `path` and a decoded query.
  func url(host: String, path: String, query: [(name: String, value: String?)]) -> String {
    var url = "\(scheme)://\(host)\(path)"
    if !query.isEmpty { url += "?" + Self.encodeQuery(query) }
    return url
  }

  static func encodeQuery(_ query: [(name: String, value: String?)]) -> String {
    query.map { item in
      let name = SigV4Encoding.encodeQueryComponent(item.name)
      guard let value = item.value else { return name }
      return name + "=" + SigV4Encoding.encodeQueryComponent(value)
    }.joined(separator: "&")
  }

  /// The endpoint as shown in messages: the scheme and authority, never credentials.
  var displayURL: String { "\(scheme)://\(authority)\(basePath)" }
}
