import Foundation
import Testing

@testable import Lifeboat

/// The command line against the local S3-compatible server with signatures enforced.
/// Skipped when `AWS_ENDPOINT_URL` is unset (scripts/test sets it).
@Suite(.enabled(if: S3TestServer.isAvailable, "no S3 test server: run through scripts/test"))
struct S3EndToEndTests {
  let server = S3TestServer.current!

  private func environment(_ extra: [String: String] = [:]) -> [String: String] {
    var environment = [
      "AWS_ENDPOINT_URL": server.endpoint, "AWS_ACCESS_KEY_ID": server.credentials.accessKeyId,
      "AWS_SECRET_ACCESS_KEY": server.credentials.secretAccessKey, "AWS_REGION": server.region,
      "NO_PROXY": "127.0.0.1,localhost", "LIFEBOAT_S3_PATH_STYLE": "true",
      "LIFEBOAT_S3_MAX_ATTEMPTS": "4",
    ]
    environment.merge(extra) { _, new in new }
    return environment
  }

  private func uniquePrefix(_ label: String) -> String {
    "e2e-\(label)-\(UInt32.random(in: 0...UInt32.max))"
  }

  @Test func hostilePrefixRoundTrip() throws {
    let work = try TemporaryDirectory("s3prefix")
    let corpus = work.join("corpus")
    try TestSupport.makeCorpus(corpus)
    let repo = "s3://\(server.bucket)/\(uniquePrefix("keys"))/env=prod/app name+ü~&%//x"

    let backup = try TestSupport.lifeboat(
      ["backup", "--db", corpus + "/app.db", "--path", corpus + "/config", "--repo", repo, "--json"],
      environment: environment())
    #expect(backup.status == 0, "\(backup.stderr)")
    let list = try TestSupport.lifeboat(["list", "--repo", repo, "--json"], environment: environment())
    #expect(list.status == 0, "\(list.stderr)")
    #expect(list.stdout.contains("\"files\":"))
    let verify = try TestSupport.lifeboat(["verify", "--repo", repo], environment: environment())
    #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")

    let target = work.join("restored")
    let restore = try TestSupport.lifeboat(["restore", "latest", "--target", target, "--repo", repo], environment: environment())
    #expect(restore.status == 0, "\(restore.stderr)")
    let diff = try TestSupport.shell("diff -r --no-dereference '\(corpus)/config' '\(target)/config'")
    #expect(diff.status == 0)
    let dumps = try TestSupport.shell(
      "cmp <(sqlite3 '\(corpus)/app.db' .dump) <(sqlite3 '\(target)/app.db' .dump)")
    #expect(dumps.status == 0)

    // A presigned URL downloads the same archive without credentials.
    let share = try TestSupport.lifeboat(["share", "latest", "--repo", repo, "--expires", "5m"], environment: environment())
    #expect(share.status == 0, "\(share.stderr)")
    let url = share.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    let fetched = try TestSupport.shell("curl -sf '\(url)' | gzip -t")
    #expect(fetched.status == 0)
  }

  @Test func shareEncryptedWithoutKey() throws {
    let work = try TemporaryDirectory("s3share-keyless")
    try TestSupport.shell("mkdir -p '\(work.path)/config' && echo a > '\(work.path)/config/a'")
    let keygen = try TestSupport.lifeboat(["keygen", "--output", work.join("key.txt")])
    let recipient = keygen.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    let repo = "s3://\(server.bucket)/\(uniquePrefix("share"))"
    let backup = try TestSupport.lifeboat(
      ["backup", "--path", work.join("config"), "--repo", repo, "--recipient", recipient],
      environment: environment())
    #expect(backup.status == 0, "\(backup.stderr)")

    // No identity: the URL and the stored SHA-256 come from the plain encryption record.
    let share = try TestSupport.lifeboat(["share", "latest", "--repo", repo], environment: environment())
    #expect(share.status == 0, "\(share.stderr)")
    let url = share.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    let digest = try #require(
      share.stderr.range(of: "sha256 [0-9a-f]{64}", options: .regularExpression).map { share.stderr[$0].dropFirst(7) })
    let fetched = try TestSupport.shell(
      "curl -sf '\(url)' -o '\(work.join("archive.age"))' && age -d -i '\(work.join("key.txt"))' '\(work.join("archive.age"))' | gzip -t")
    #expect(fetched.status == 0, "\(fetched.stderr)")
    #expect(try TestSupport.sha256(work.join("archive.age")) == String(digest))
  }

  @Test func wrongSecretIsRejectedOnce() throws {
    let work = try TemporaryDirectory("s3secret")
    try TestSupport.shell("mkdir -p '\(work.path)/config' && echo a > '\(work.path)/config/a'")
    let repo = "s3://\(server.bucket)/\(uniquePrefix("secret"))"
    let started = Date()
    let backup = try TestSupport.lifeboat(
      ["backup", "--path", work.join("config"), "--repo", repo],
      environment: environment(["AWS_SECRET_ACCESS_KEY": "not-the-secret-0123456789"]))
    #expect(backup.status == 77, "\(backup.stderr)")
    #expect(backup.stderr.contains("rejected the credentials"))
    #expect(!backup.stderr.contains("not-the-secret-0123456789"))
    #expect(Date().timeIntervalSince(started) < 10)
  }

  @Test func missingBucketIsNamed() throws {
    let work = try TemporaryDirectory("s3bucket")
    try TestSupport.shell("mkdir -p '\(work.path)/config' && echo a > '\(work.path)/config/a'")
    let backup = try TestSupport.lifeboat(
      ["backup", "--path", work.join("config"), "--repo", "s3://no-such-bucket-lifeboat/x"],
      environment: environment())
    #expect(backup.status == 69, "\(backup.stderr)")
    #expect(backup.stderr.contains("no-such-bucket-lifeboat"))
  }

  @Test func unreachableEndpointIsNamed() throws {
    let work = try TemporaryDirectory("s3endpoint")
    try TestSupport.shell("mkdir -p '\(work.path)/config' && echo a > '\(work.path)/config/a'")
    let started = Date()
    let backup = try TestSupport.lifeboat(
      ["backup", "--path", work.join("config"), "--repo", "s3://\(server.bucket)/x"],
      environment: environment(["AWS_ENDPOINT_URL": "http://127.0.0.1:9"]))
    #expect(backup.status == 69, "\(backup.stderr)")
    #expect(backup.stderr.contains("127.0.0.1:9"))
    #expect(Date().timeIntervalSince(started) < 60)
  }

  /// Starts scripts/fault-proxy in front of the server and returns its URL and PID.
  private func startProxy(_ arguments: [String], log: String) throws -> (url: String, pid: Int32) {
    let result = try TestSupport.run(
      TestSupport.packageRoot + "/scripts/fault-proxy",
      ["--upstream", server.endpoint, "--port", "0", "--background", "--lifetime", "300", "--log", log] + arguments)
    var values: [String: String] = [:]
    for line in result.stdout.split(separator: "\n") where line.hasPrefix("export ") {
      let pair = line.dropFirst("export ".count).split(separator: "=", maxSplits: 1)
      if pair.count == 2 { values[String(pair[0])] = String(pair[1]).trimmingCharacters(in: CharacterSet(charactersIn: "'\"")) }
    }
    guard let url = values["FAULT_PROXY_URL"], let pid = values["FAULT_PROXY_PID"].flatMap(Int32.init) else {
      throw TestFailure("fault-proxy did not start: \(result.stderr)")
    }
    return (url, pid)
  }

  @Test func thirtyPercentFaultsStillRestoreIdentical() throws {
    let work = try TemporaryDirectory("s3faults")
    let corpus = work.join("corpus")
    try TestSupport.makeCorpus(corpus)
    let proxy = try startProxy(["--fail-rate", "0.3", "--seed", "4"], log: work.join("proxy.jsonl"))
    defer { kill(proxy.pid, SIGKILL) }
    let repo = "s3://\(server.bucket)/\(uniquePrefix("faults"))"
    let env = environment(["AWS_ENDPOINT_URL": proxy.url, "LIFEBOAT_S3_MAX_ATTEMPTS": "8"])

    for run in 0..<3 {
      let backup = try TestSupport.lifeboat(
        ["backup", "--db", corpus + "/app.db", "--path", corpus + "/logs", "--repo", repo, "--part-size", "5MiB", "--json"],
        environment: env)
      #expect(backup.status == 0, "run \(run): \(backup.stderr)")
      guard backup.status == 0,
        let id = (try JSONSerialization.jsonObject(with: Data(backup.stdout.utf8)) as? [String: Any])?["id"] as? String
      else { continue }
      let target = work.join("restored-\(run)")
      let restore = try TestSupport.lifeboat(["restore", id, "--target", target, "--repo", repo], environment: env)
      #expect(restore.status == 0, "run \(run): \(restore.stderr)")
      let diff = try TestSupport.shell("diff -r '\(corpus)/logs' '\(target)/logs'")
      #expect(diff.status == 0)
    }
    let faults = try TestSupport.shell("grep -c '\"fault\":\"' '\(work.join("proxy.jsonl"))'")
    #expect((Int(faults.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 0)
  }

  @Test func totalOutageFailsFastAndLeavesNothing() throws {
    let work = try TemporaryDirectory("s3outage")
    let corpus = work.join("corpus")
    try TestSupport.makeCorpus(corpus)
    let proxy = try startProxy(["--fail-all", "--weights", "internal=1,slowdown=1,reset=1"], log: work.join("proxy.jsonl"))
    defer { kill(proxy.pid, SIGKILL) }
    let prefix = uniquePrefix("outage")
    let repo = "s3://\(server.bucket)/\(prefix)"

    let started = Date()
    let backup = try TestSupport.lifeboat(
      ["backup", "--db", corpus + "/app.db", "--path", corpus + "/logs", "--repo", repo, "--part-size", "5MiB"],
      environment: environment(["AWS_ENDPOINT_URL": proxy.url]))
    let elapsed = Date().timeIntervalSince(started)
    #expect(backup.status == 69, "\(backup.stderr)")
    #expect(elapsed < 120)
    let errorLines = backup.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
    #expect(errorLines.count == 1)

    // Directly against the server: nothing listed, no multipart upload left open.
    let store = try S3ObjectStore(configuration: server.configuration(prefix: prefix + "/"))
    #expect(try store.list(prefix: "").isEmpty)
    #expect(try store.listMultipartUploads().isEmpty)
  }

  @Test func noSecretInAnyOutput() throws {
    let session = try #require(server.sessionCredentials)
    let work = try TemporaryDirectory("s3secrets")
    let corpus = work.join("corpus")
    try TestSupport.makeCorpus(corpus)
    let repo = "s3://\(server.bucket)/\(uniquePrefix("secrets"))"
    let env = environment([
      "AWS_ACCESS_KEY_ID": session.accessKeyId, "AWS_SECRET_ACCESS_KEY": session.secretAccessKey,
      "AWS_SESSION_TOKEN": session.sessionToken ?? "",
    ])
    let logFile = work.join("lifeboat.log")
    let metrics = work.join("lifeboat.prom")
    let common = ["--repo", repo, "--log-level", "trace", "--log-file", logFile]

    var outputs: [String] = []
    let runs: [[String]] = [
      ["backup", "--db", corpus + "/app.db", "--path", corpus + "/logs", "--part-size", "5MiB",
       "--metrics-file", metrics, "--json"] + common,
      ["list", "--json"] + common,
      ["verify", "--metrics-file", metrics] + common,
      ["restore", "latest", "--target", work.join("out")] + common,
      ["backup", "--path", work.join("missing")] + common,
    ]
    for arguments in runs {
      let result = try TestSupport.lifeboat(arguments, environment: env)
      outputs += [result.stdout, result.stderr]
    }
    let wrong = try TestSupport.lifeboat(
      ["list"] + common, environment: env.merging(["AWS_SECRET_ACCESS_KEY": "wrong-\(session.secretAccessKey)"]) { _, new in new })
    #expect(wrong.status == 77)
    outputs += [wrong.stdout, wrong.stderr]
    outputs.append(try String(contentsOfFile: logFile, encoding: .utf8))
    outputs.append(try String(contentsOfFile: metrics, encoding: .utf8))

    let everything = outputs.joined(separator: "\n")
    #expect(everything.contains("PUT") || everything.contains("put"))
    #expect(!everything.contains(session.secretAccessKey))
    #expect(!everything.contains(session.sessionToken ?? "no token"))
    #expect(!everything.contains(server.credentials.secretAccessKey))
    #expect(everything.range(of: "Signature=[0-9a-f]{64}", options: .regularExpression) == nil)
  }
}
