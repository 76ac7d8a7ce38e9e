/// Removes secrets from request details before they are logged or put in messages.
public enum S3Redaction {
  /// Headers whose values are credentials or signatures (lower-case).
  static let secretHeaders: Set<String> = ["authorization", "x-amz-security-token"]
  /// Query parameters whose values are credentials or signatures (lower-case).
  static let secretQueryParameters: Set<String> = [
    "x-amz-signature", "x-amz-security-token", "x-amz-credential",
  ]

  /// Returns `headers` with the values of `Authorization` and `X-Amz-Security-Token`
  /// replaced by `<redacted>`.
  public static func redact(headers: [(name: String, value: String)]) -> [(
    name: String, value: String
  )] {
    headers.map { header in
      secretHeaders.contains(header.name.lowercased())
        ? (name: header.name, value: "<redacted>") : header
    }
  }

  /// Returns `url` with the values of `X-Amz-Signature`, `X-Amz-Security-Token` and
  /// `X-Amz-Credential` replaced by `<redacted>`.
  public static func redact(url: String) -> String {
    guard let questionMark = url.firstIndex(of: "?") else { return url }
    let query = url[url.index(after: questionMark)...]
    let parameters = query.split(separator: "&", omittingEmptySubsequences: false).map {
      parameter -> String in
      let name = parameter.prefix { $0 != "=" }
      guard secretQueryParameters.contains(name.lowercased()) else { return String(parameter) }
      return "\(name)=<redacted>"
    }
    return url[...questionMark] + parameters.joined(separator: "&")
  }
}
