/// AWS credentials. `description`, `debugDescription` and `dump` never show the secret or the
/// session token.
public struct AWSCredentials: Sendable, CustomStringConvertible, CustomDebugStringConvertible,
  CustomReflectable
{
  public var accessKeyId: String
  public var secretAccessKey: String
  /// The token of temporary credentials (STS), or nil for long-term keys.
  public var sessionToken: String?

  public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil) {
    self.accessKeyId = accessKeyId
    self.secretAccessKey = secretAccessKey
    self.sessionToken = sessionToken
  }

  public var description: String {
    let token = sessionToken == nil ? "" : ", sessionToken: <redacted>"
    return "AWSCredentials(accessKeyId: \(accessKeyId), secretAccessKey: <redacted>\(token))"
  }

  public var debugDescription: String { description }

  public var customMirror: Mirror {
    var children: [(label: String?, value: Any)] = [
      ("accessKeyId", accessKeyId), ("secretAccessKey", "<redacted>"),
    ]
    if sessionToken != nil {
      children.append(("sessionToken", "<redacted>"))
    }
    return Mirror(self, children: children, displayStyle: .struct)
  }
}
