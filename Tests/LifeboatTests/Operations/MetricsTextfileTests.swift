import Foundation
import Testing

@testable import Lifeboat

/// The Prometheus textfile: written atomically, readable by prometheus_client, and shared by
/// commands without losing each other's series.
@Suite struct MetricsTextfileTests {
  @Test func sampleLineRoundTrip() throws {
    let line = #"lifeboat_last_run_status{command="a\"b\\c\nd",status="failure"} 1 1796400000000"#
    let sample = try #require(PrometheusSample(line: line))
    #expect(sample.name == "lifeboat_last_run_status")
    #expect(sample.label("command") == "a\"b\\c\nd")
    #expect(sample.label("status") == "failure")
    #expect(sample.value == "1")
    #expect(sample.line == #"lifeboat_last_run_status{command="a\"b\\c\nd",status="failure"} 1"#)
    #expect(PrometheusSample(line: "# HELP x y") == nil)
    #expect(PrometheusSample(line: "name{broken 1") == nil)
    #expect(PrometheusSample(line: "name not-a-number") == nil)
  }

  @Test func backupAndVerifyShareFile() throws {
    let work = try TemporaryDirectory("metrics")
    let tree = try SmallTree.make(work.join("tree"))
    let repo = "file://" + work.join("repo")
    let metrics = work.join("textfile/lifeboat.prom")
    try FileManager.default.createDirectory(atPath: work.join("textfile"), withIntermediateDirectories: true)

    let backup = try TestSupport.lifeboat(["backup", "--path", tree, "--repo", repo, "--metrics-file", metrics, "--json"])
    #expect(backup.status == 0, "\(backup.stderr)")
    // The config key and its environment variable name the file as well as the option.
    let verify = try TestSupport.lifeboat(["verify", "--repo", repo], environment: ["LIFEBOAT_METRICS_FILE": metrics])
    #expect(verify.status == 0, "\(verify.stderr)")

    let samples = try PrometheusText.parse(metrics)
    #expect(samples.allSatisfy { $0.type == "gauge" })
    for command in ["backup", "verify"] {
      let labels = ["command": command]
      #expect(PrometheusText.value(samples, "lifeboat_last_run_exit_code", labels) == 0)
      #expect(PrometheusText.value(samples, "lifeboat_last_run_status", ["command": command, "status": "success"]) == 1)
      #expect(PrometheusText.value(samples, "lifeboat_last_run_status", ["command": command, "status": "failure"]) == 0)
      let finished = try #require(PrometheusText.value(samples, "lifeboat_last_run_timestamp_seconds", labels))
      #expect(abs(finished - Date().timeIntervalSince1970) < 120)
      #expect(PrometheusText.value(samples, "lifeboat_last_success_timestamp_seconds", labels) == finished)
      #expect(PrometheusText.value(samples, "lifeboat_last_run_duration_seconds", labels) != nil)
      #expect(PrometheusText.value(samples, "lifeboat_last_run_retries", labels) == 0)
      #expect(PrometheusText.value(samples, "lifeboat_last_run_breaker_openings", labels) == 0)
    }

    let summary = try JSONSerialization.jsonObject(with: Data(backup.stdout.utf8)) as? [String: Any]
    let backupLabels = ["command": "backup"]
    #expect(PrometheusText.value(samples, "lifeboat_last_run_files", backupLabels) == 8)
    #expect(PrometheusText.value(samples, "lifeboat_last_run_read_bytes", backupLabels) == (summary?["bytes_read"] as? NSNumber)?.doubleValue)
    #expect(PrometheusText.value(samples, "lifeboat_last_run_written_bytes", backupLabels) == (summary?["archive_bytes"] as? NSNumber)?.doubleValue)
    // The lock object, the archive and the manifest.
    #expect(PrometheusText.value(samples, "lifeboat_last_run_requests", ["command": "backup", "verb": "put"]) == 3)
    // verify reads the manifest and the archive at least.
    #expect((PrometheusText.value(samples, "lifeboat_last_run_requests", ["command": "verify", "verb": "get"]) ?? 0) >= 2)
    #expect((PrometheusText.value(samples, "lifeboat_last_run_uploaded_bytes", backupLabels) ?? 0) > 0)
    #expect((PrometheusText.value(samples, "lifeboat_last_run_downloaded_bytes", ["command": "verify"]) ?? 0) > 0)
    #expect(PrometheusText.value(samples, "lifeboat_repository_backups") == 1)
    let size = try #require(PrometheusText.value(samples, "lifeboat_repository_size_bytes"))
    #expect(size > (summary?["archive_bytes"] as? NSNumber)?.doubleValue ?? 0)
    #expect(PrometheusText.value(samples, "lifeboat_repository_newest_backup_timestamp_seconds") != nil)

    // node_exporter may run as another user, and no temporary file is left for it to read.
    let attributes = try FileManager.default.attributesOfItem(atPath: metrics)
    #expect((attributes[.posixPermissions] as? Int) == 0o644)
    let names = try FileManager.default.contentsOfDirectory(atPath: work.join("textfile"))
    #expect(names.sorted() == ["lifeboat.prom", "lifeboat.prom.lock"])
  }

  @Test func failedRunKeepsLastSuccess() throws {
    let work = try TemporaryDirectory("metricsfail")
    let tree = try SmallTree.make(work.join("tree"))
    let repo = "file://" + work.join("repo")
    let metrics = work.join("lifeboat.prom")
    let first = try TestSupport.lifeboat(["backup", "--path", tree, "--repo", repo, "--metrics-file", metrics])
    #expect(first.status == 0, "\(first.stderr)")
    let verify = try TestSupport.lifeboat(["verify", "--repo", repo, "--metrics-file", metrics])
    #expect(verify.status == 0, "\(verify.stderr)")
    let before = try PrometheusText.parse(metrics)

    let failed = try TestSupport.lifeboat(
      ["backup", "--path", tree, "--repo", repo, "--metrics-file", metrics],
      environment: ["LIFEBOAT_FAULTS": "put:1"])
    #expect(failed.status == 69)
    let after = try PrometheusText.parse(metrics)

    let backup = ["command": "backup"]
    #expect(PrometheusText.value(after, "lifeboat_last_run_exit_code", backup) == 69)
    #expect(PrometheusText.value(after, "lifeboat_last_run_status", ["command": "backup", "status": "failure"]) == 1)
    #expect(PrometheusText.value(after, "lifeboat_last_run_status", ["command": "backup", "status": "success"]) == 0)
    let lastSuccess = PrometheusText.value(before, "lifeboat_last_success_timestamp_seconds", backup)
    #expect(lastSuccess != nil)
    #expect(PrometheusText.value(after, "lifeboat_last_success_timestamp_seconds", backup) == lastSuccess)
    #expect(
      (PrometheusText.value(after, "lifeboat_last_run_timestamp_seconds", backup) ?? 0) >= lastSuccess ?? .infinity)

    // The other command's series are carried over unchanged.
    let verifySeries = { (samples: [ParsedSample]) in
      samples.filter { $0.labels["command"] == "verify" }.map { "\($0.name)\($0.labels.sorted { $0.key < $1.key })=\($0.value)" }.sorted()
    }
    #expect(!verifySeries(before).isEmpty)
    #expect(verifySeries(after) == verifySeries(before))
    #expect(PrometheusText.value(after, "lifeboat_repository_backups") == 1)
  }

  @Test func unwritableFileOnlyWarns() throws {
    let work = try TemporaryDirectory("metricsbad")
    let tree = try SmallTree.make(work.join("tree"))
    let backup = try TestSupport.lifeboat([
      "backup", "--path", tree, "--repo", "file://" + work.join("repo"),
      "--metrics-file", work.join("missing-dir/lifeboat.prom"),
    ])
    #expect(backup.status == 0)
    #expect(backup.stderr.contains("metrics file \(work.join("missing-dir/lifeboat.prom")) not updated"))
  }
}
