import Foundation
import LifeboatSigV4
import Testing

@testable import Lifeboat

extension StorageTests {
  /// Runs against the S3 server named by the environment (see `S3TestServer`), which enforces
  /// SigV4. Skipped when none is configured.
  @Suite(
    .enabled(if: S3TestServer.isAvailable, "set AWS_ENDPOINT_URL and LIFEBOAT_TEST_BUCKET"),
    .timeLimit(.minutes(2)))
  struct S3ObjectStoreTests {
    private let server = S3TestServer.current!

    /// Runs `body` with a store under a fresh prefix, then deletes what it left.
    private func withStore(
      _ adjust: (inout S3Configuration) -> Void = { _ in },
      log: LogRecorder = LogRecorder(), clock: @escaping () -> Date = Date.init,
      _ body: (S3ObjectStore) throws -> Void
    ) throws {
      var configuration = server.configuration()
      adjust(&configuration)
      defer { server.clean(configuration) }
      let store = try S3ObjectStore(configuration: configuration, log: log.handler, clock: clock)
      try body(store)
    }

    static let unusualKeys = [
      "with space.txt",
      "plus+tilde~equals=amp&.bin",
      "percent%41%2F%.txt",
      "Grüße/日本語/ünïcødé.txt",
      "double//slash",
      "dots/./and/../segments",
      "/leading-slash",
      "trailing-slash/",
      "quote\"apostrophe'star*paren().txt",
      "semicolon;colon:comma,at@dollar$.bin",
    ]

    @Test func unusualKeysRoundTrip() throws {
      try withStore { store in
        for (index, key) in Self.unusualKeys.enumerated() {
          let data = testBytes(100 + index, seed: UInt64(index + 1))
          let info = try store.put(key: key, data: data)
          #expect(info.key == key)
          #expect(info.size == Int64(data.count))
          #expect(try store.get(key: key) == data, "\(key)")
          #expect(try store.head(key: key)?.size == Int64(data.count), "\(key)")
        }
        let listed = try store.list(prefix: "").map(\.key)
        #expect(Set(listed) == Set(Self.unusualKeys))
        #expect(listed.count == Self.unusualKeys.count)
      }
    }

    @Test func prefixWithUnusualCharacters() throws {
      try withStore({ $0.prefix = "lifeboat-tests/\(UUID().uuidString)/a b+c=d&e%f//ü/" }) {
        store in
        try store.put(key: "x y", data: [1, 2, 3])
        #expect(try store.get(key: "x y") == [1, 2, 3])
        #expect(try store.list(prefix: "").map(\.key) == ["x y"])
      }
    }

    @Test func listPagination() throws {
      try withStore({ $0.listPageSize = 2 }) { store in
        let keys = (0..<5).map { "dir/item-\($0)" }
        for key in keys.reversed() { try store.put(key: key, data: Array(key.utf8)) }
        try store.put(key: "dirt", data: [0])
        try store.put(key: "other/item", data: [0])
        let getsBefore = store.counters.requests("GET")

        let listed = try store.list(prefix: "dir/")
        #expect(listed.map(\.key) == keys)
        #expect(listed.map(\.size) == keys.map { Int64($0.utf8.count) })
        #expect(listed.allSatisfy { $0.lastModified != nil })
        #expect(listed.allSatisfy { $0.etag != nil })
        #expect(store.counters.requests("GET") - getsBefore == 3)
        #expect(try store.list(prefix: "").count == 7)
        #expect(try store.list(prefix: "missing/").isEmpty)
      }
    }

    @Test func rangeRead() throws {
      try withStore { store in
        let data = testBytes(1000)
        try store.put(key: "ranged", data: data)
        let collector = ByteCollector()
        try store.read(key: "ranged", range: 100...199, into: collector)
        #expect(collector.bytes == Array(data[100...199]))

        let tail = ByteCollector()
        try store.read(key: "ranged", range: 990...5000, into: tail)
        #expect(tail.bytes == Array(data[990...]))
      }
    }

    @Test func emptyObject() throws {
      try withStore { store in
        let info = try store.put(key: "empty", data: [])
        #expect(info.size == 0)
        #expect(try store.get(key: "empty") == [])
      }
    }

    @Test func missingKey() throws {
      try withStore { store in
        #expect(try store.head(key: "absent") == nil)
        try store.delete(key: "absent")
        let error = #expect(throws: StorageError.self) { try store.get(key: "absent") }
        guard case .notFound(let key) = error else {
          Issue.record("expected notFound, got \(String(describing: error))")
          return
        }
        #expect(key == "absent")
      }
    }

    @Test func deleteRemovesObject() throws {
      try withStore { store in
        try store.put(key: "gone", data: [1])
        try store.delete(key: "gone")
        #expect(try store.head(key: "gone") == nil)
      }
    }

    @Test func multipartUpload() throws {
      try withStore({
        $0.partSize = 5 << 20
        $0.multipartThreshold = 5 << 20
      }) { store in
        let data = testBytes(12 << 20, seed: 7)
        let writer = try store.makeWriter(
          key: "big/archive.tar.gz", expectedSize: Int64(data.count))
        #expect(writer.partSize == 5 << 20)
        // Odd chunk sizes cross part boundaries at arbitrary offsets.
        var offset = 0
        var chunk = 1
        while offset < data.count {
          let end = min(offset + chunk, data.count)
          try writer.write(Array(data[offset..<end]))
          offset = end
          chunk = chunk * 3 % 1_000_003 + 17
        }
        let info = try writer.commit()
        #expect(info.size == Int64(data.count))
        #expect(info.etag?.hasSuffix("-3\"") == true)
        #expect(store.counters.requests("POST") == 2)
        #expect(store.counters.requests("PUT") == 3)
        #expect(try store.get(key: "big/archive.tar.gz") == data)
        #expect(try store.listMultipartUploads().isEmpty)
        #expect(try writer.commit() == info)
      }
    }

    @Test func singlePutBelowThreshold() throws {
      try withStore({
        $0.partSize = 5 << 20
        $0.multipartThreshold = 8 << 20
      }) { store in
        // Seven MiB fill one part, held in memory until the object reaches the threshold.
        let data = testBytes(7 << 20, seed: 3)
        try store.put(key: "medium", data: data)
        #expect(store.counters.requests("POST") == 0)
        #expect(store.counters.requests("PUT") == 1)
        #expect(try store.get(key: "medium") == data)
      }
    }

    @Test func abortLeavesNoUpload() throws {
      try withStore({
        $0.partSize = 5 << 20
        $0.multipartThreshold = 5 << 20
      }) { store in
        let writer = try store.makeWriter(key: "aborted", expectedSize: nil)
        try writer.write(testBytes(11 << 20))
        #expect(store.counters.requests("POST") == 1)
        writer.abort()
        writer.abort()
        #expect(try store.listMultipartUploads().isEmpty)
        #expect(try store.head(key: "aborted") == nil)
        #expect(store.counters.requests("DELETE") == 1)
        #expect(throws: (any Error).self) { try writer.write([1]) }
      }
    }

    @Test func staleUploadsAborted() throws {
      try withStore { store in
        let uploadId = try store.client.createMultipartUpload(
          key: store.configuration.prefix + "stale")
        let uploads = try store.listMultipartUploads()
        #expect(uploads.map(\.key) == ["stale"])
        #expect(uploads.map(\.uploadId) == [uploadId])
        // Two centuries: no upload is that old.
        #expect(try store.abortStaleUploads(olderThan: 200 * 365 * 86_400).isEmpty)

        let aborted = try store.abortStaleUploads(olderThan: -60)
        #expect(aborted.map(\.uploadId) == [uploadId])
        #expect(try store.listMultipartUploads().isEmpty)
      }
    }

    @Test func tooLargeRejectedBeforeRequest() throws {
      try withStore { store in
        #expect(throws: S3PartPlanner.TooLargeError.self) {
          try store.makeWriter(key: "huge", expectedSize: (5 << 40) + 1)
        }
        #expect(store.counters.totalRequests == 0)
      }
    }

    @Test func wrongSecretDenied() throws {
      try withStore({ $0.credentials.secretAccessKey = "wrong-secret" }) { store in
        let error = #expect(throws: StorageError.self) { try store.put(key: "x", data: [1]) }
        guard case .accessDenied(_, let reason) = error else {
          Issue.record("expected accessDenied, got \(String(describing: error))")
          return
        }
        #expect(reason.contains("refused the credentials"))
        #expect(reason.contains("SignatureDoesNotMatch"))
        #expect(!reason.contains("wrong-secret"))
        #expect(store.counters.totalRequests == 1)
        #expect(store.counters.retries == 0)
      }
    }

    @Test func unknownAccessKeyDenied() throws {
      try withStore({ $0.credentials.accessKeyId = "AKIAUNKNOWNKEY000000" }) { store in
        let error = #expect(throws: StorageError.self) { try store.list(prefix: "") }
        guard case .accessDenied(_, let reason) = error else {
          Issue.record("expected accessDenied, got \(String(describing: error))")
          return
        }
        #expect(reason.contains("InvalidAccessKeyId"))
        #expect(store.counters.totalRequests == 1)
      }
    }

    @Test func missingBucketNamed() throws {
      let bucket = "lifeboat-missing-\(UUID().uuidString.prefix(8).lowercased())"
      try withStore({ $0.bucket = bucket }) { store in
        let error = #expect(throws: StorageError.self) { try store.list(prefix: "") }
        guard case .unavailable(_, let reason) = error else {
          Issue.record("expected unavailable, got \(String(describing: error))")
          return
        }
        #expect(reason.contains("bucket \(bucket) does not exist"))
        #expect(store.counters.totalRequests == 1)
        #expect(throws: StorageError.self) { try store.delete(key: "x") }
      }
    }

    @Test func sessionCredentials() throws {
      let session = try #require(server.sessionCredentials)
      try withStore({ $0.credentials = session }) { store in
        try store.put(key: "session", data: [4, 5, 6])
        #expect(try store.get(key: "session") == [4, 5, 6])
      }
      var withoutToken = session
      withoutToken.sessionToken = nil
      try withStore({ $0.credentials = withoutToken }) { store in
        let error = #expect(throws: StorageError.self) { try store.put(key: "x", data: [1]) }
        guard case .accessDenied = error else {
          Issue.record("expected accessDenied, got \(String(describing: error))")
          return
        }
      }
    }

    @Test func presignedURLWithCurl() throws {
      try withStore { store in
        let key = "shared/file name+ü.bin"
        let data = testBytes(4096, seed: 9)
        try store.put(key: key, data: data)
        let url = try store.presignedURL(key: key, expires: 300)
        #expect(url.contains("X-Amz-Signature="))

        let directory = NSTemporaryDirectory() + "lifeboat-presign-\(UUID().uuidString)"
        try FileManager.default.createDirectory(
          atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = directory + "/download"
        #expect(try runCurl(["-sS", "-f", "-o", output, url]) == 0)
        #expect(FileManager.default.contents(atPath: output).map { Array($0) } == data)

        let tampered = url.replacingOccurrences(of: "X-Amz-Expires=300", with: "X-Amz-Expires=301")
        #expect(try runCurl(["-sS", "-f", "-o", output, tampered]) != 0)
      }
    }

    @Test func clockSkewCorrected() throws {
      let log = LogRecorder()
      try withStore(log: log, clock: { Date().addingTimeInterval(3600) }) { store in
        try store.put(key: "skewed", data: [1, 2])
        #expect(try store.get(key: "skewed") == [1, 2])
        let warnings = log.messages(.warning)
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("RequestTimeTooSkewed") == true)
        // The server's clock has whole seconds, so the offset logged is within 2 s of -3600.
        let offset = warnings.first.flatMap { line in
          line.split(separator: " ").first { $0.hasPrefix("-") }.flatMap { Int($0) }
        }
        #expect(offset.map { abs($0 + 3600) <= 2 } == true, "\(warnings)")
        #expect(abs(store.client.clockOffset + 3600) < 5)
        #expect(store.counters.retries == 1)
      }
    }

    @Test func sinkErrorNotRetried() throws {
      struct SinkFailure: Error {}
      final class FailingSink: ByteSink {
        func write(_ bytes: UnsafeRawBufferPointer) throws { throw SinkFailure() }
        func finish() throws {}
      }
      try withStore { store in
        try store.put(key: "data", data: testBytes(100))
        #expect(throws: SinkFailure.self) {
          try store.read(key: "data", range: nil, into: FailingSink())
        }
        #expect(store.counters.retries == 0)
      }
    }

    @Test func logsNoSecrets() throws {
      let log = LogRecorder()
      try withStore(log: log) { store in
        try store.put(key: "logged", data: [1])
        _ = try store.presignedURL(key: "logged", expires: 60)
        _ = try store.get(key: "logged")
        let text = log.all.joined(separator: "\n")
        #expect(!text.isEmpty)
        #expect(!text.contains(server.credentials.secretAccessKey))
        #expect(!text.contains("Signature="))
        #expect(!store.location.contains(server.credentials.secretAccessKey))
      }
    }

    @Test func heldPartsJoinUpload() throws {
      try withStore({
        $0.partSize = 5 << 20
        $0.multipartThreshold = 8 << 20
      }) { store in
        // The first part is held until the second one takes the object past the threshold.
        let data = testBytes(12 << 20, seed: 4)
        let writer = try store.makeWriter(key: "held", expectedSize: Int64(data.count))
        try writer.write(Array(data[..<(6 << 20)]))
        #expect(store.counters.totalRequests == 0)
        try writer.write(Array(data[(6 << 20)...]))
        #expect(store.counters.requests("POST") == 1)
        let info = try writer.commit()
        #expect(info.size == Int64(data.count))
        #expect(store.counters.requests("PUT") == 3)
        #expect(try store.get(key: "held") == data)
      }
    }

    @Test func droppedWriterAborts() throws {
      try withStore({
        $0.partSize = 5 << 20
        $0.multipartThreshold = 5 << 20
      }) { store in
        do {
          let writer = try store.makeWriter(key: "dropped", expectedSize: 12 << 20)
          try writer.write(testBytes(6 << 20))
          #expect(store.counters.requests("POST") == 1)
        }
        // The last reference may be a part upload still running, which then aborts.
        let deadline = Date().addingTimeInterval(10)
        while try !store.listMultipartUploads().isEmpty && Date() < deadline {
          Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(try store.listMultipartUploads().isEmpty)
        #expect(store.counters.requests("DELETE") == 1)
      }
    }

    @Test func encryptionAndStorageClass() throws {
      try withStore({
        $0.serverSideEncryption = .aes256
        $0.storageClass = "STANDARD_IA"
        $0.partSize = 5 << 20
        $0.multipartThreshold = 5 << 20
      }) { store in
        try store.put(key: "small", data: [1, 2, 3])
        let data = testBytes(6 << 20, seed: 2)
        try store.put(key: "large", data: data)
        #expect(try store.get(key: "small") == [1, 2, 3])
        #expect(try store.get(key: "large") == data)
      }
    }

    @Test func sessionPresignedURL() throws {
      let session = try #require(server.sessionCredentials)
      try withStore({ $0.credentials = session }) { store in
        try store.put(key: "session shared", data: [1, 2, 3])
        let url = try store.presignedURL(key: "session shared", expires: 60)
        #expect(url.contains("X-Amz-Security-Token="))
        let directory = NSTemporaryDirectory() + "lifeboat-presign-\(UUID().uuidString)"
        try FileManager.default.createDirectory(
          atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try runCurl(["-sS", "-f", "-o", directory + "/download", url]) == 0)
        #expect(FileManager.default.contents(atPath: directory + "/download") == Data([1, 2, 3]))
      }
    }

    @Test func invalidKeysRejected() throws {
      try withStore { store in
        #expect(throws: StorageError.self) { try store.put(key: "", data: [1]) }
        let long = String(repeating: "k", count: 1025)
        #expect(throws: StorageError.self) { try store.head(key: long) }
        #expect(throws: LifeboatError.self) { try store.presignedURL(key: "k", expires: 0) }
        #expect(store.counters.totalRequests == 0)
      }
    }

    private func runCurl(_ arguments: [String]) throws -> Int32 {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
      process.arguments = arguments
      process.standardError = FileHandle.nullDevice
      try process.run()
      process.waitUntilExit()
      return process.terminationStatus
    }
  }
}
