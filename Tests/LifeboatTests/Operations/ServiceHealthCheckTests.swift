import Foundation
import Lifeboat
import Testing

/// The health check after a restore: a URL fetched through libcurl, a command, or both.
@Suite struct ServiceHealthCheckTests {
  @Test func problemClassification() {
    func response(_ status: Int, _ body: String, _ type: String? = nil) -> HTTPProbe.Response {
      HTTPProbe.Response(status: status, body: Array(body.utf8), contentType: type)
    }
    #expect(HTTPProbe.problem(with: response(200, "")) == nil)
    #expect(HTTPProbe.problem(with: response(204, "")) == nil)
    #expect(HTTPProbe.problem(with: response(200, "OK", "text/plain")) == nil)
    #expect(HTTPProbe.problem(with: response(200, "{\"status\":\"ok\"}", "application/json")) == nil)
    #expect(HTTPProbe.problem(with: response(200, " {\"status\": \"degraded\"}")) == nil)
    #expect(HTTPProbe.problem(with: response(200, "{\"status\":\"unhealthy\"}", "application/json")) != nil)
    #expect(HTTPProbe.problem(with: response(200, "{\"status\":\"UNHEALTHY\"}")) != nil)
    #expect(HTTPProbe.problem(with: response(200, "[\"unhealthy\"]", "application/json")) == nil)
    #expect(HTTPProbe.problem(with: response(200, "{not json", "application/json")) == nil)
    #expect(HTTPProbe.problem(with: response(301, "")) == "HTTP status 301")
    #expect(HTTPProbe.problem(with: response(503, "{\"status\":\"ok\"}")) == "HTTP status 503")
  }

  @Test func urlAgainstFakeApplication() throws {
    let work = try TemporaryDirectory("health")
    try TestSupport.shell("sqlite3 '\(work.join("app.db"))' 'CREATE TABLE t (x)'")
    let app = try FakeApplication(state: work.join("state"), database: work.join("app.db"))
    try app.start()
    defer { app.kill() }

    let healthy = try HTTPProbe.get(app.healthURL, timeout: 5)
    #expect(healthy.status == 200)
    #expect(healthy.contentType == "application/json")
    #expect(HTTPProbe.problem(with: healthy) == nil)

    app.setFlag("unhealthy")
    let unhealthy = try HTTPProbe.get(app.healthURL, timeout: 5)
    #expect(unhealthy.status == 200)
    #expect(HTTPProbe.problem(with: unhealthy)?.contains("unhealthy") == true)

    let missing = try HTTPProbe.get("http://127.0.0.1:\(app.port)/missing", timeout: 5)
    #expect(HTTPProbe.problem(with: missing) == "HTTP status 404")
  }

  @Test func refusedConnectionThrows() throws {
    let port = try FakeApplication.freePort()
    #expect(throws: HTTPProbeError.self) {
      try HTTPProbe.get("http://127.0.0.1:\(port)/health", timeout: 2)
    }
  }

  @Test func commandRetriedUntilPass() throws {
    let work = try TemporaryDirectory("health")
    let log = try CapturedLog(work)
    let flag = work.join("ready")
    // The command passes from its third run on.
    let command = "n=$(cat '\(work.join("count"))' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '\(work.join("count"))'; test -e '\(flag)' || test $n -ge 3"
    let check = ServiceHealthCheck(command: command, url: nil, timeout: 10, attemptTimeout: 5)
    let attempts = try check.waitUntilHealthy(logger: log.logger)
    #expect(attempts == 3)
    #expect(log.records.contains { $0["msg"] as? String == "health check failed; retrying" })
  }

  @Test func timeoutReportsLastProblem() throws {
    let work = try TemporaryDirectory("health")
    let log = try CapturedLog(work)
    let port = try FakeApplication.freePort()
    let check = ServiceHealthCheck(command: "true", url: "http://127.0.0.1:\(port)/health", timeout: 1, attemptTimeout: 1)
    let started = Date()
    let error = #expect(throws: ServiceHealthCheckError.self) { try check.waitUntilHealthy(logger: log.logger) }
    let waited = Date().timeIntervalSince(started)
    #expect(waited >= 1)
    #expect(waited < 4)
    #expect((error?.attempts ?? 0) >= 2)
    #expect(error?.problem.contains("127.0.0.1:\(port)") == true)
  }
}
