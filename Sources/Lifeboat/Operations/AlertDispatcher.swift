import Foundation

/// Sends the alerts a finished run calls for, through each configured channel, at most once per
/// command, outcome and channel within `[alert] min_interval`.
public enum AlertDispatcher {
  /// Sends the alerts for `report`. Never throws: an alert that cannot be sent is logged as a
  /// warning, and the run's exit status stays as it was.
  public static func dispatch(
    _ report: RunReport, settings: AlertSettings, environment: [String: String], logger: Logger,
    now: Date = Date()
  ) {
    guard settings.isEnabled, settings.outcomes.contains(report.outcome) else { return }

    let directory = settings.stateDirectory
      ?? AlertRateLimiter.defaultDirectory(environment: environment)
    var limiter: AlertRateLimiter?
    do {
      limiter = try AlertRateLimiter(directory: directory, minInterval: settings.minInterval)
    } catch {
      // Sending without the limit risks a repeated alert, but not sending could hide a failure.
      logger.warning("alert rate limit not applied: \(error)", [("state_dir", .string(directory))])
    }
    defer { limiter?.close() }

    var channels: [(name: String, target: String, send: () throws -> Void)] = []
    if let url = settings.webhookURL {
      channels.append(("webhook", hostOf(url), { try AlertTransport.postJSON(webhookBody(report), to: url) }))
    }
    if let smtp = settings.smtp {
      let message = mailMessage(report, smtp: smtp, now: now)
      channels.append(("email", hostOf(smtp.url), { try AlertTransport.sendMail(message, smtp: smtp) }))
    }

    for channel in channels {
      let key = "\(report.command) \(report.outcome.rawValue) \(channel.name)"
      let fields: [(String, LogValue)] = [
        ("channel", .string(channel.name)), ("target", .string(channel.target)),
        ("command", .string(report.command)), ("status", .string(report.outcome.rawValue)),
      ]
      if let last = limiter?.recentlySent(key, now: now) {
        logger.info(
          "alert not sent: one was sent at \(Timestamp.iso8601(last)), within min_interval", fields)
        continue
      }
      do {
        try channel.send()
        logger.info("alert sent", fields)
      } catch {
        logger.warning("alert could not be sent: \(error)", fields)
        continue
      }
      do {
        try limiter?.record(key, now: now)
      } catch {
        logger.warning("alert sent but not recorded, so the next one is not rate-limited: \(error)", fields)
      }
    }
  }

  /// `lifeboat backup failed on web1: <error> (exit status 69, run <id>, 4.2 s)`.
  static func headline(_ report: RunReport) -> String {
    let run = "lifeboat \(report.command)"
    var text: String
    switch report.outcome {
    case .failure: text = "\(run) failed on \(report.host)"
    case .partial: text = "\(run) on \(report.host) stored a partial backup"
    case .warnings: text = "\(run) on \(report.host) finished with warnings"
    case .success: text = "\(run) succeeded on \(report.host)"
    }
    if let error = report.error { text += ": \(error)" }
    text += " (exit status \(report.exitCode), run \(report.runID), \(String(format: "%.1f", report.duration)) s)"
    return text
  }

  /// Builds the webhook's JSON body: the run's facts, and `text` for Slack-compatible receivers.
  static func webhookBody(_ report: RunReport) -> String {
    func quoted(_ text: String?) -> String { text.map(JSONText.quote) ?? "null" }
    let fields = [
      "\"text\":\(JSONText.quote(headline(report)))",
      "\"id\":\(JSONText.quote(report.runID))",
      "\"backup_id\":\(quoted(report.backupID))",
      "\"host\":\(JSONText.quote(report.host))",
      "\"command\":\(JSONText.quote(report.command))",
      "\"status\":\(JSONText.quote(report.outcome.rawValue))",
      "\"exit_code\":\(report.exitCode)",
      "\"error\":\(quoted(report.error))",
      "\"duration_s\":\(String(format: "%.3f", report.duration))",
      "\"started\":\(JSONText.quote(Timestamp.iso8601(report.started)))",
      "\"finished\":\(JSONText.quote(Timestamp.iso8601(report.finished)))",
    ]
    return "{" + fields.joined(separator: ",") + "}"
  }

  /// Builds an RFC 5322 message with CRLF line ends. Values in headers lose their line breaks, so
  /// an error message cannot add headers.
  static func mailMessage(_ report: RunReport, smtp: AlertSettings.SMTP, now: Date) -> String {
    func oneLine(_ text: String) -> String {
      String(text.map { $0.isNewline ? " " : $0 })
    }
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"

    let headers = [
      "From: \(smtp.from)",
      "To: \(smtp.recipients.joined(separator: ", "))",
      "Subject: \(oneLine("lifeboat \(report.command) \(report.outcome.rawValue) on \(report.host)"))",
      "Date: \(formatter.string(from: now))",
      "Message-ID: <\(report.runID).\(report.outcome.rawValue)@\(oneLine(BackupID.sanitize(report.host)))>",
      "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: 8bit",
      "X-Lifeboat-Run-ID: \(report.runID)",
    ]
    var body = [
      headline(report),
      "",
      "run id:     \(report.runID)",
      "backup id:  \(report.backupID ?? "none")",
      "host:       \(report.host)",
      "command:    \(report.command)",
      "status:     \(report.outcome.rawValue) (exit status \(report.exitCode))",
      "started:    \(Timestamp.iso8601(report.started))",
      "duration:   \(String(format: "%.1f", report.duration)) s",
    ]
    if let error = report.error { body.append("error:      \(error)") }
    let lines = headers.map(oneLine) + [""] + body.flatMap { $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
    return lines.joined(separator: "\r\n") + "\r\n"
  }

  /// Returns the host of a URL, for messages, because webhook URLs often carry a secret in their
  /// path.
  static func hostOf(_ url: String) -> String {
    URLComponents(string: url)?.host ?? "the configured URL"
  }
}
