import Foundation
import LifeboatSigV4
import Testing

@testable import Lifeboat

extension StorageTests {
  /// Retries, the circuit breaker and error mapping, with faults injected by a local proxy
  /// (`Fixtures/fault-proxy.py`) in front of the S3 test server, or by no server at all.
  @Suite(.timeLimit(.minutes(2)))
  struct S3FaultInjectionTests {
    private static let dummyCredentials = AWSCredentials(
      accessKeyId: "AKIAFAULTPROXY000000", secretAccessKey: "not-a-real-secret")

    /// Returns a configuration for `endpoint` that needs no S3 server behind it.
    private func standaloneConfiguration(endpoint: String) -> S3Configuration {
      var configuration = S3Configuration(
        bucket: "lifeboat-test", prefix: "faults/", region: "us-east-1", endpoint: endpoint,
        addressingStyle: .path, credentials: Self.dummyCredentials)
      configuration.retryBaseDelay = 0.05
      configuration.retryMaxDelay = 0.2
      configuration.connectTimeout = 2
      return configuration
    }

    @Test func unreachableEndpointNamed() throws {
      let port = closedLocalPort()
      var configuration = standaloneConfiguration(endpoint: "http://127.0.0.1:\(port)")
      configuration.maxAttempts = 2
      let store = try S3ObjectStore(configuration: configuration)
      let started = Date()
      let error = #expect(throws: StorageError.self) { try store.get(key: "x") }
      guard case .unavailable(let location, let reason) = error else {
        Issue.record("expected unavailable, got \(String(describing: error))")
        return
      }
      #expect(reason.contains("cannot connect to http://127.0.0.1:\(port)"))
      #expect(location.contains("127.0.0.1:\(port)"))
      #expect(store.counters.requests("GET") == 2)
      #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test func totalFailureOpensBreaker() throws {
      let proxy = try FaultProxy(upstream: nil, always: "500")
      var configuration = standaloneConfiguration(endpoint: proxy.url)
      configuration.maxAttempts = 4
      configuration.breakerThreshold = 3
      configuration.breakerCoolDown = 60
      let log = LogRecorder()
      let store = try S3ObjectStore(configuration: configuration, log: log.handler)

      let started = Date()
      let error = #expect(throws: StorageError.self) { try store.put(key: "x", data: [1]) }
      guard case .unavailable(_, let reason) = error else {
        Issue.record("expected unavailable, got \(String(describing: error))")
        return
      }
      #expect(reason.contains("circuit breaker open"))
      #expect(proxy.requests.count == 3)
      #expect(Date().timeIntervalSince(started) < 5)
      #expect(log.messages(.info).contains { $0.contains("circuit breaker opened") })

      // While open, calls fail without reaching the server.
      #expect(throws: StorageError.self) { try store.head(key: "x") }
      #expect(proxy.requests.count == 3)
      #expect(store.counters.rejectedByBreaker == 2)
    }

    @Test func serverErrorsExhaustAttempts() throws {
      let proxy = try FaultProxy(upstream: nil, always: "500")
      var configuration = standaloneConfiguration(endpoint: proxy.url)
      configuration.maxAttempts = 3
      let store = try S3ObjectStore(configuration: configuration)
      let error = #expect(throws: StorageError.self) { try store.get(key: "x") }
      guard case .unavailable(_, let reason) = error else {
        Issue.record("expected unavailable, got \(String(describing: error))")
        return
      }
      #expect(reason.contains("HTTP 500 InternalError"))
      #expect(reason.contains("FAULTPROXY"))
      #expect(proxy.requests.count == 3)
      #expect(store.counters.retries == 2)
    }

    @Test func forbiddenNotRetried() throws {
      let proxy = try FaultProxy(upstream: nil, always: "403")
      let store = try S3ObjectStore(configuration: standaloneConfiguration(endpoint: proxy.url))
      let error = #expect(throws: StorageError.self) { try store.put(key: "x", data: [1]) }
      guard case .accessDenied = error else {
        Issue.record("expected accessDenied, got \(String(describing: error))")
        return
      }
      #expect(proxy.requests.count == 1)
      #expect(store.counters.retries == 0)
      #expect(store.circuitBreaker.state == .closed)
    }

    @Test(.enabled(if: S3TestServer.isAvailable, "set AWS_ENDPOINT_URL and LIFEBOAT_TEST_BUCKET"))
    func transientFaultsRetried() throws {
      let server = try #require(S3TestServer.current)
      // The first request opens a fresh connection, so libcurl cannot resend the reset request
      // on its own, as it does when a reused connection turns out closed.
      let proxy = try FaultProxy(
        upstream: server.endpoint, faults: ["reset", "reset", "503", "500"])
      let configuration = server.configuration(endpoint: proxy.url)
      defer { server.clean(configuration) }
      let log = LogRecorder()
      let store = try S3ObjectStore(configuration: configuration, log: log.handler)

      let started = Date()
      let data = testBytes(3000)
      try store.put(key: "retried", data: data)
      // The 503 carries `Retry-After: 1`, which the client waits out.
      #expect(Date().timeIntervalSince(started) >= 1)
      #expect(
        proxy.requests.prefix(5).map { $0.split(separator: " ").last } == [
          "reset", "reset", "503", "500", "pass",
        ])
      #expect(store.counters.retries == 4)
      #expect(log.messages(.info).filter { $0.hasPrefix("retrying S3 PUT") }.count == 4)
      #expect(try store.get(key: "retried") == data)
    }

    @Test(.enabled(if: S3TestServer.isAvailable, "set AWS_ENDPOINT_URL and LIFEBOAT_TEST_BUCKET"))
    func multipartPartsRetried() throws {
      let server = try #require(S3TestServer.current)
      let proxy = try FaultProxy(
        upstream: server.endpoint, faults: ["reset", "500", "503"], methods: ["PUT"])
      var configuration = server.configuration(endpoint: proxy.url)
      configuration.partSize = 5 << 20
      configuration.multipartThreshold = 5 << 20
      configuration.assumedObjectSize = 11 << 20
      defer { server.clean(configuration) }
      let store = try S3ObjectStore(configuration: configuration)

      let data = testBytes(11 << 20, seed: 5)
      let info = try store.put(key: "parts", data: data)
      #expect(info.size == Int64(data.count))
      #expect(proxy.requests.filter { $0.hasPrefix("PUT ") }.count == 3 + 3)
      // libcurl itself resends a request reset on a reused connection, without a retry.
      #expect((2...3).contains(store.counters.retries))
      #expect(try store.get(key: "parts") == data)
      #expect(try store.listMultipartUploads().isEmpty)
    }

    @Test(.enabled(if: S3TestServer.isAvailable, "set AWS_ENDPOINT_URL and LIFEBOAT_TEST_BUCKET"))
    func failingPartsAbortUpload() throws {
      let server = try #require(S3TestServer.current)
      let proxy = try FaultProxy(upstream: server.endpoint, always: "503", methods: ["PUT"])
      var configuration = server.configuration(endpoint: proxy.url)
      configuration.partSize = 5 << 20
      configuration.multipartThreshold = 5 << 20
      configuration.breakerThreshold = 4
      configuration.retryMaxDelay = 0.1
      defer { server.clean(configuration) }
      let store = try S3ObjectStore(configuration: configuration)

      let started = Date()
      #expect(throws: StorageError.self) {
        try store.put(key: "doomed", data: testBytes(16 << 20))
      }
      // Four 503s with `Retry-After: 1`, capped at the 0.1 s maximum delay, then fail-fast.
      #expect(Date().timeIntervalSince(started) < 10)
      if case .open = store.circuitBreaker.state {
      } else {
        Issue.record("breaker not open: \(store.circuitBreaker.state)")
      }
      #expect(proxy.requests.contains { $0.hasPrefix("DELETE ") && $0.contains("uploadId=") })

      let checker = try S3ObjectStore(
        configuration: server.configuration(prefix: configuration.prefix))
      #expect(try checker.listMultipartUploads().isEmpty)
      #expect(try checker.head(key: "doomed") == nil)
    }

    @Test(.enabled(if: S3TestServer.isAvailable, "set AWS_ENDPOINT_URL and LIFEBOAT_TEST_BUCKET"))
    func interruptedDownloadResumed() throws {
      let server = try #require(S3TestServer.current)
      let proxy = try FaultProxy(upstream: server.endpoint, faults: ["cut"], methods: ["GET"])
      let configuration = server.configuration(endpoint: proxy.url)
      defer { server.clean(configuration) }
      let store = try S3ObjectStore(configuration: configuration)

      let data = testBytes(256 << 10, seed: 11)
      try store.put(key: "download", data: data)
      let collector = ByteCollector()
      try store.read(key: "download", range: nil, into: collector)
      #expect(collector.bytes == data)
      #expect(store.counters.requests("GET") == 2)

      let partial = ByteCollector()
      let proxyAgain = try FaultProxy(upstream: server.endpoint, faults: ["cut"], methods: ["GET"])
      let ranged = try S3ObjectStore(
        configuration: server.configuration(
          prefix: configuration.prefix, endpoint: proxyAgain.url))
      try ranged.read(key: "download", range: 1000...99_999, into: partial)
      #expect(partial.bytes == Array(data[1000...99_999]))
    }
    @Test(.enabled(if: S3TestServer.isAvailable, "set AWS_ENDPOINT_URL and LIFEBOAT_TEST_BUCKET"))
    func connectionsReused() throws {
      let server = try #require(S3TestServer.current)
      let proxy = try FaultProxy(upstream: server.endpoint)
      let configuration = server.configuration(endpoint: proxy.url)
      defer { server.clean(configuration) }
      let store = try S3ObjectStore(configuration: configuration)
      for index in 0..<5 {
        try store.put(key: "reuse-\(index)", data: [UInt8(index)])
      }
      #expect(proxy.requests.count == 10)
      #expect(Set(proxy.clientPorts).count == 1)
    }

    @Test(.enabled(if: S3TestServer.isAvailable, "set AWS_ENDPOINT_URL and LIFEBOAT_TEST_BUCKET"))
    func privateCertificateAuthority() throws {
      let server = try #require(S3TestServer.current)
      let certificate = try SelfSignedCertificate()
      let proxy = try FaultProxy(
        upstream: server.endpoint,
        tls: (certificate: certificate.certificatePath, key: certificate.keyPath))
      var configuration = server.configuration(endpoint: proxy.url)
      defer { server.clean(configuration) }

      let untrusting = try S3ObjectStore(configuration: configuration)
      let error = #expect(throws: StorageError.self) { try untrusting.get(key: "x") }
      guard case .unavailable(_, let reason) = error else {
        Issue.record("expected unavailable, got \(String(describing: error))")
        return
      }
      #expect(reason.contains("TLS certificate of https://127.0.0.1:\(proxy.port) not trusted"))
      #expect(untrusting.counters.requests("GET") == 1)
      #expect(proxy.requests.isEmpty)

      configuration.caBundlePath = certificate.certificatePath
      let trusting = try S3ObjectStore(configuration: configuration)
      try trusting.put(key: "over-tls", data: [7, 8, 9])
      #expect(try trusting.get(key: "over-tls") == [7, 8, 9])
    }
  }
}
