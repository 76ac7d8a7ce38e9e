import Foundation

/// The `[alert]` settings: which outcomes send alerts, where to, and how often.
public struct AlertSettings: Sendable {
  /// STARTTLS on `smtp://` URLs: CURLUSESSL_TRY, CURLUSESSL_ALL or CURLUSESSL_NONE in libcurl.
  public enum TLSMode: String, Sendable {
    case `try`
    case require
    case off
  }

  /// The mail server, sender, recipients and credentials of alert email.
  public struct SMTP: Sendable {
    public var url: String
    public var from: String
    public var recipients: [String]
    public var user: String?
    public var password: String?
    public var tls: TLSMode
  }

  public var outcomes: Set<RunStatus> = [.failure]
  public var webhookURL: String?
  public var smtp: SMTP?
  /// Seconds within which a second alert for the same command and outcome is not sent.
  public var minInterval: Double = 3600
  /// The configured state directory, or nil for the default of `AlertRateLimiter`.
  public var stateDirectory: String?

  /// True when a webhook or a mail server is configured.
  public var isEnabled: Bool { webhookURL != nil || smtp != nil }

  /// Reads and checks the `[alert]` settings.
  ///
  /// - Throws: `LifeboatError` with code `.configuration`, naming the setting and where it was
  ///   set, for an unknown outcome, a URL of the wrong scheme, or email settings without a server,
  ///   sender or recipient.
  public init(configuration: Configuration) throws {
    func invalid(_ name: String, _ message: String, hint: String? = nil) -> LifeboatError {
      let origin = configuration.origin(name).map { "\($0): " } ?? ""
      return LifeboatError(.configuration, "\(origin)\(message)", hint: hint)
    }

    if let text = configuration.string("alert.on") {
      var outcomes: Set<RunStatus> = []
      for word in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
        guard let status = RunStatus(rawValue: word) else {
          throw invalid(
            "alert.on", "invalid value '\(word)' for on in [alert]",
            hint: "list outcomes from failure, partial, warnings and success, e.g. on = failure,partial")
        }
        outcomes.insert(status)
      }
      self.outcomes = outcomes
    }

    if let url = configuration.string("alert.webhook_url"), !url.isEmpty {
      guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
        throw invalid("alert.webhook_url", "invalid webhook_url in [alert]: expected an http:// or https:// URL")
      }
      webhookURL = url
    }

    let recipients = configuration.strings("alert.smtp_to")
      .flatMap { $0.split(separator: ",") }
      .map { $0.trimmingCharacters(in: .whitespaces) }
      .filter { !$0.isEmpty }
    let from = configuration.string("alert.smtp_from")
    if let url = configuration.string("alert.smtp_url"), !url.isEmpty {
      guard url.hasPrefix("smtp://") || url.hasPrefix("smtps://") else {
        throw invalid("alert.smtp_url", "invalid smtp_url in [alert]: expected smtp://host:port or smtps://host:port")
      }
      guard let from, !from.isEmpty else {
        throw invalid("alert.smtp_url", "smtp_url is set in [alert] but smtp_from is not", hint: "set smtp_from = lifeboat@example.com")
      }
      guard !recipients.isEmpty else {
        throw invalid("alert.smtp_url", "smtp_url is set in [alert] but smtp_to is not", hint: "set smtp_to = ops@example.com")
      }
      for address in [from] + recipients where !AlertSettings.isPlainAddress(address) {
        throw invalid("alert.smtp_to", "invalid email address '\(address)' in [alert]: expected user@host")
      }
      smtp = SMTP(
        url: url, from: from, recipients: recipients, user: configuration.string("alert.smtp_user"),
        password: configuration.string("alert.smtp_password"),
        tls: TLSMode(rawValue: configuration.string("alert.smtp_tls") ?? "try") ?? .try)
    } else if from != nil || !recipients.isEmpty {
      throw invalid(
        from != nil ? "alert.smtp_from" : "alert.smtp_to",
        "email recipients or sender are set in [alert] but smtp_url is not",
        hint: "set smtp_url = smtp://mail.example.com:587")
    }

    minInterval = try configuration.duration("alert.min_interval") ?? 3600
    stateDirectory = configuration.string("alert.state_dir")
  }

  /// Returns true for an address without display name, brackets, spaces or line breaks, any of
  /// which could change the SMTP envelope or the message headers.
  static func isPlainAddress(_ address: String) -> Bool {
    let parts = address.split(separator: "@", omittingEmptySubsequences: false)
    return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty
      && !address.contains { $0.isWhitespace || "<>\",;".contains($0) || $0.asciiValue.map { $0 < 32 } == true }
  }
}
