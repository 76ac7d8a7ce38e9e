import Foundation
import LifeboatSigV4

@testable import Lifeboat

#if canImport(Glibc)
  import Glibc
#endif

/// The S3 server the integration tests use, from `AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `LIFEBOAT_TEST_BUCKET` and, for temporary
/// credentials, `LIFEBOAT_TEST_SESSION_ACCESS_KEY_ID`, `..._SECRET_ACCESS_KEY` and `..._TOKEN`.
struct S3TestServer {
  var endpoint: String
  var credentials: AWSCredentials
  var sessionCredentials: AWSCredentials?
  var region: String
  var bucket: String

  static let current: S3TestServer? = {
    let environment = ProcessInfo.processInfo.environment
    func value(_ name: String) -> String? {
      guard let value = environment[name], !value.isEmpty else { return nil }
      return value
    }
    guard let endpoint = value("AWS_ENDPOINT_URL"), let accessKeyId = value("AWS_ACCESS_KEY_ID"),
      let secret = value("AWS_SECRET_ACCESS_KEY"), let bucket = value("LIFEBOAT_TEST_BUCKET")
    else { return nil }
    var session: AWSCredentials?
    if let id = value("LIFEBOAT_TEST_SESSION_ACCESS_KEY_ID"),
      let sessionSecret = value("LIFEBOAT_TEST_SESSION_SECRET_ACCESS_KEY"),
      let token = value("LIFEBOAT_TEST_SESSION_TOKEN")
    {
      session = AWSCredentials(accessKeyId: id, secretAccessKey: sessionSecret, sessionToken: token)
    }
    return S3TestServer(
      endpoint: endpoint,
      credentials: AWSCredentials(accessKeyId: accessKeyId, secretAccessKey: secret),
      sessionCredentials: session, region: value("AWS_REGION") ?? "us-east-1", bucket: bucket)
  }()

  static var isAvailable: Bool { current != nil }

  /// Returns a configuration under a prefix of its own, with short retry delays.
  func configuration(
    prefix: String = "lifeboat-tests/\(UUID().uuidString)/", endpoint: String? = nil
  ) -> S3Configuration {
    var configuration = S3Configuration(
      bucket: bucket, prefix: prefix, region: region, endpoint: endpoint ?? self.endpoint,
      addressingStyle: .path, credentials: credentials)
    configuration.retryBaseDelay = 0.05
    configuration.retryMaxDelay = 2
    configuration.connectTimeout = 5
    return configuration
  }

  /// Deletes every object and multipart upload under the configuration's prefix.
  func clean(_ configuration: S3Configuration) {
    var cleaner = self.configuration(prefix: configuration.prefix)
    cleaner.maxAttempts = 3
    guard let store = try? S3ObjectStore(configuration: cleaner) else { return }
    for object in (try? store.list(prefix: "")) ?? [] {
      try? store.delete(key: object.key)
    }
    _ = try? store.abortStaleUploads(olderThan: -3600)
  }
}

/// Collects log lines of a store for checks.
final class LogRecorder: @unchecked Sendable {
  private let lock = NSLock()
  private var lines: [(S3LogLevel, String)] = []

  var handler: S3LogHandler {
    { [self] level, line in
      lock.lock()
      lines.append((level, line))
      lock.unlock()
    }
  }

  func messages(_ level: S3LogLevel) -> [String] {
    lock.lock()
    defer { lock.unlock() }
    return lines.filter { $0.0 == level }.map(\.1)
  }

  var all: [String] {
    lock.lock()
    defer { lock.unlock() }
    return lines.map(\.1)
  }
}

/// Returns `count` reproducible pseudo-random bytes.
func testBytes(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
  var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
  var bytes = [UInt8](repeating: 0, count: count)
  for index in 0..<count {
    state ^= state << 13
    state ^= state >> 7
    state ^= state << 17
    bytes[index] = UInt8(truncatingIfNeeded: state)
  }
  return bytes
}

/// Returns a TCP port on 127.0.0.1 that nothing listens on.
func closedLocalPort() -> Int {
  let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  defer { close(descriptor) }
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_addr.s_addr = inet_addr("127.0.0.1")
  address.sin_port = 0
  var length = socklen_t(MemoryLayout<sockaddr_in>.size)
  withUnsafeMutablePointer(to: &address) { pointer in
    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
      _ = bind(descriptor, generic, length)
      _ = getsockname(descriptor, generic, &length)
    }
  }
  return Int(UInt16(bigEndian: address.sin_port))
}

/// The fault-injecting HTTP proxy of `Fixtures/fault-proxy.py`, run for one test.
final class FaultProxy {
  let port: Int
  let isTLS: Bool
  private let process: Process
  private let input = Pipe()
  private let logPath: String

  /// Starts the proxy.
  ///
  /// - Parameters:
  ///   - upstream: the S3 server to forward to. Without one, forwarded requests get 502.
  ///   - faults: faults for the first matching requests, in order (`503`, `500`, `reset`,
  ///     `cut`, `403`, `pass`).
  ///   - always: the fault for every matching request after `faults` are used up.
  ///   - methods: the verbs faults apply to, or all when empty.
  ///   - tls: a PEM certificate and key to serve HTTPS with.
  init(
    upstream: String?, faults: [String] = [], always: String? = nil, methods: [String] = [],
    tls: (certificate: String, key: String)? = nil
  ) throws {
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("Fixtures/fault-proxy.py").path
    logPath = NSTemporaryDirectory() + "lifeboat-fault-proxy-\(UUID().uuidString).log"
    var arguments = [script, "--log", logPath]
    if let upstream { arguments += ["--upstream", upstream] }
    if !faults.isEmpty { arguments += ["--faults", faults.joined(separator: ",")] }
    if let always { arguments += ["--always", always] }
    if !methods.isEmpty { arguments += ["--methods", methods.joined(separator: ",")] }
    if let tls { arguments += ["--tls-cert", tls.certificate, "--tls-key", tls.key] }
    isTLS = tls != nil

    process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3"] + arguments
    let output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()

    var line = ""
    while !line.contains("\n") {
      let data = output.fileHandleForReading.availableData
      if data.isEmpty { break }
      line += String(decoding: data, as: UTF8.self)
    }
    guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
      process.terminate()
      throw LifeboatError(.failure, "fault proxy did not start: \(line)")
    }
    self.port = port
  }

  deinit {
    // Closing its input stops the proxy even where the SIGTERM is blocked.
    try? input.fileHandleForWriting.close()
    process.terminate()
    process.waitUntilExit()
    try? FileManager.default.removeItem(atPath: logPath)
  }

  var url: String { "\(isTLS ? "https" : "http")://127.0.0.1:\(port)" }

  /// Requests the proxy received, as `METHOD path fault`, in order.
  var requests: [String] {
    entries.map { $0.dropLast().joined(separator: " ") }
  }

  /// The client ports of the requests, in order: one port per TCP connection.
  var clientPorts: [String] {
    entries.compactMap(\.last)
  }

  private var entries: [[String]] {
    guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return [] }
    return text.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
  }
}

/// A self-signed certificate for 127.0.0.1 in a temporary directory, made with `openssl`.
final class SelfSignedCertificate {
  let directory: String
  var certificatePath: String { directory + "/cert.pem" }
  var keyPath: String { directory + "/key.pem" }

  init() throws {
    directory = NSTemporaryDirectory() + "lifeboat-tls-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
      "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
      "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
      "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem",
    ]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw LifeboatError(.failure, "openssl req failed with status \(process.terminationStatus)")
    }
  }

  deinit { try? FileManager.default.removeItem(atPath: directory) }
}
