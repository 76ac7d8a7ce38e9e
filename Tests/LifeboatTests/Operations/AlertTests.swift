import Foundation
import Testing

@testable import Lifeboat

/// Alerts through a real webhook receiver and SMTP server on 127.0.0.1.
@Suite struct AlertTests {
  private func writeConfig(_ work: TemporaryDirectory, sink: AlertSink, extra: String = "") throws -> String {
    let path = work.join("lifeboat.conf")
    try """
      [alert]
      webhook_url = http://127.0.0.1:\(sink.webhookPort)/hooks/T000/B000/s3cr3tPathPart
      smtp_url = smtp://127.0.0.1:\(sink.smtpPort)
      smtp_from = lifeboat@backup.test
      smtp_to = ops@backup.test
      smtp_user = alerts
      smtp_password = pa55-w0rd-never-shown
      state_dir = \(work.join("state"))
      \(extra)
      """.write(toFile: path, atomically: false, encoding: .utf8)
    return path
  }

  /// Proxies would send loopback requests elsewhere.
  private let environment = ["NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"]

  @Test func failureAlertsOncePerInterval() throws {
    let work = try TemporaryDirectory("alertfail")
    let sink = try AlertSink(directory: work.path, arguments: ["--smtp-user", "alerts", "--smtp-password", "pa55-w0rd-never-shown"])
    let config = try writeConfig(work, sink: sink)
    let tree = try SmallTree.make(work.join("tree"))
    // A seed that lets the lock object's put through and fails the archive's, so the run has a
    // backup id when it fails.
    let seed = try #require(FaultSeeds.first(.put, outcomes: [false, true]))
    var failing = environment
    failing["LIFEBOAT_FAULTS"] = "put:0.5,seed:\(seed)"
    let arguments = [
      "backup", "--config", config, "--path", tree, "--repo", "file://" + work.join("repo"),
      "--log-format", "json", "--log-level", "info",
    ]

    let first = try TestSupport.lifeboat(arguments, environment: failing)
    #expect(first.status == 69)
    let id = try #require(runID(inLog: first.stderr))

    let hooks = sink.received(kind: "webhook")
    try #require(hooks.count == 1)
    #expect(hooks[0]["path"] as? String == "/hooks/T000/B000/s3cr3tPathPart")
    let body = try JSONSerialization.jsonObject(with: Data((hooks[0]["body"] as? String ?? "").utf8)) as? [String: Any]
    #expect(body?["id"] as? String == id)
    #expect(body?["command"] as? String == "backup")
    #expect(body?["status"] as? String == "failure")
    #expect(body?["exit_code"] as? Int == 69)
    #expect((body?["error"] as? String)?.contains("injected fault") == true)
    #expect((body?["text"] as? String)?.contains("lifeboat backup failed on") == true)
    #expect((body?["backup_id"] as? String)?.isEmpty == false)
    #expect(body?["host"] as? String != nil)
    #expect(body?["duration_s"] as? Double != nil)

    let mails = sink.received(kind: "email")
    try #require(mails.count == 1)
    #expect(mails[0]["mail_from"] as? String == "lifeboat@backup.test")
    #expect(mails[0]["rcpt_tos"] as? [String] == ["ops@backup.test"])
    #expect(mails[0]["auth_login"] as? String == "alerts")
    let content = mails[0]["content"] as? String ?? ""
    #expect(content.contains("Subject: lifeboat backup failure on"))
    #expect(content.contains("run id:     \(id)"))
    #expect(content.contains("injected fault"))

    // Neither the password nor the webhook's secret path shows in any output.
    for output in [first.stdout, first.stderr] {
      #expect(!output.contains("pa55-w0rd-never-shown"))
      #expect(!output.contains("s3cr3tPathPart"))
    }
    #expect(first.stderr.contains("\"alert sent\""))

    let second = try TestSupport.lifeboat(arguments, environment: failing)
    #expect(second.status == 69)
    #expect(sink.received().count == 2)
    #expect(second.stderr.contains("alert not sent: one was sent at"))
  }

  @Test func successSendsNothingByDefault() throws {
    let work = try TemporaryDirectory("alertok")
    let sink = try AlertSink(directory: work.path)
    let config = try writeConfig(work, sink: sink)
    let tree = try SmallTree.make(work.join("tree"))
    let backup = try TestSupport.lifeboat(
      ["backup", "--config", config, "--path", tree, "--repo", "file://" + work.join("repo")],
      environment: environment)
    #expect(backup.status == 0)
    #expect(sink.received().isEmpty)
  }

  @Test func partialAlertWhenConfigured() throws {
    let work = try TemporaryDirectory("alertpartial")
    let sink = try AlertSink(directory: work.path)
    let config = try writeConfig(work, sink: sink, extra: "on = failure,partial\nsmtp_tls = off")
    let tree = try SmallTree.make(work.join("tree"), count: 30)
    var partial = environment
    partial["LIFEBOAT_FAULTS"] = "read:0.3,seed:7"
    let backup = try TestSupport.lifeboat(
      ["backup", "--config", config, "--path", tree, "--repo", "file://" + work.join("repo")],
      environment: partial)
    #expect(backup.status == 2)
    let hooks = sink.received(kind: "webhook")
    try #require(hooks.count == 1)
    let body = try JSONSerialization.jsonObject(with: Data((hooks[0]["body"] as? String ?? "").utf8)) as? [String: Any]
    #expect(body?["status"] as? String == "partial")
    #expect((body?["error"] as? String)?.contains("warning(s): \(tree)/") == true)
  }

  @Test func undeliverableAlertKeepsExitStatus() throws {
    let work = try TemporaryDirectory("alertbroken")
    // The receiver responds with 500, and the mail server offers no STARTTLS, which `require` needs.
    let sink = try AlertSink(directory: work.path, arguments: ["--webhook-status", "500"])
    let config = try writeConfig(work, sink: sink, extra: "on = success,failure\nsmtp_tls = require")
    let tree = try SmallTree.make(work.join("tree"))
    let arguments = ["backup", "--config", config, "--path", tree, "--repo", "file://" + work.join("repo")]

    let success = try TestSupport.lifeboat(arguments, environment: environment)
    #expect(success.status == 0)
    let warnings = success.stderr.split(separator: "\n").filter { $0.hasPrefix("warning: alert could not be sent") }
    #expect(warnings.count == 2, "\(success.stderr)")
    #expect(success.stderr.contains("HTTP 500"))
    #expect(sink.received(kind: "email").isEmpty)

    var failing = environment
    failing["LIFEBOAT_FAULTS"] = "put:1"
    let failure = try TestSupport.lifeboat(arguments, environment: failing)
    #expect(failure.status == 69)
    // Alerts that were not delivered are not recorded, so the next run tries again.
    let retry = try TestSupport.lifeboat(arguments, environment: failing)
    #expect(retry.status == 69)
    #expect(sink.received(kind: "webhook").count == 3)
  }

  @Test func invalidOutcomeIsConfigurationError() throws {
    let work = try TemporaryDirectory("alertbad")
    let config = work.join("lifeboat.conf")
    try "[alert]\non = failure,disaster\n".write(toFile: config, atomically: false, encoding: .utf8)
    let result = try TestSupport.lifeboat(["backup", "--config", config, "--path", work.path])
    #expect(result.status == 78)
    #expect(result.stderr.contains("\(config):2: invalid value 'disaster' for on in [alert]"))
  }
}
