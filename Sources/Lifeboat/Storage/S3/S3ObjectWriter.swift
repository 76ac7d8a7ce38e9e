import Foundation

/// A write to an `S3ObjectStore`: one PUT for small objects, a multipart upload otherwise.
///
/// Bytes are buffered into parts. Objects below `S3Configuration.multipartThreshold` are
/// sent in one PUT on `commit`. Larger ones become a multipart upload, whose parts up to
/// `partsInFlight` worker threads send while the caller keeps writing. `write` blocks while
/// all workers are busy, so memory stays at about `(partsInFlight + 1) * partSize` plus the
/// parts held before the threshold is reached.
///
/// After completion, a HEAD checks the object's size and ETag. `abort`, and every failed
/// `commit`, abort the multipart upload so that no parts are left behind.
public final class S3ObjectWriter: ObjectWriter {
  /// The key relative to the store's prefix.
  public let key: String
  /// The size of the next part. It grows when the object outgrows the planned size.
  public var partSize: Int64 { schedule.partSize }
  /// Bytes written so far.
  public private(set) var bytesWritten: Int64 = 0

  private enum State {
    case open
    case finished
    case committed(ObjectInfo)
    case aborted
    case failed(Error)
  }

  private struct UploadedPart {
    var etag: String
    var md5: [UInt8]
  }

  private let store: S3ObjectStore
  private let client: S3Client
  private let fullKey: String
  private let threshold: Int64
  private var schedule: S3PartSchedule
  private var state = State.open
  private var buffer: [UInt8] = []
  /// Full parts kept until the object reaches the multipart threshold.
  private var heldParts: [[UInt8]] = []
  private var uploadId: String?

  private let slots: DispatchSemaphore
  private let inFlight = DispatchGroup()
  private let workers: BlockingWorkerPool
  private let lock = NSLock()
  private var uploadedParts: [Int: UploadedPart] = [:]
  private var workerError: Error?
  private var isCancelled = false

  init(store: S3ObjectStore, key: String, fullKey: String, expectedSize: Int64?) throws {
    let configuration = store.configuration
    schedule = try S3PartSchedule(
      expectedSize: expectedSize, assumedSize: configuration.assumedObjectSize,
      configuredPartSize: configuration.partSize)
    self.store = store
    client = store.client
    self.key = key
    self.fullKey = fullKey
    threshold = configuration.multipartThreshold
    slots = DispatchSemaphore(value: configuration.partsInFlight)
    workers = BlockingWorkerPool(threadCount: configuration.partsInFlight, name: "S3 part upload")
  }

  deinit {
    // A writer dropped without commit or abort would leave its parts billed. A completed
    // upload has no upload id any more.
    if uploadId != nil { abort() }
    workers.shutdown()
  }

  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    switch state {
    case .open: break
    case .failed(let error): throw error
    default: throw StateError(key: key, operation: "write")
    }
    if let error = firstWorkerError() { throw fail(error) }
    if bytesWritten + Int64(bytes.count) > S3PartPlanner.maxObjectSize {
      throw fail(S3PartPlanner.TooLargeError(size: bytesWritten + Int64(bytes.count)))
    }

    var offset = 0
    while offset < bytes.count {
      if buffer.isEmpty { buffer.reserveCapacity(Int(partSize)) }
      let count = min(Int(partSize) - buffer.count, bytes.count - offset)
      buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count]))
      offset += count
      bytesWritten += Int64(count)
      if Int64(buffer.count) == partSize {
        let part = buffer
        buffer = []
        do {
          try emitFullPart(part)
        } catch {
          throw fail(error)
        }
      }
    }
  }

  public func finish() throws {
    switch state {
    case .open: state = .finished
    case .failed(let error): throw error
    default: break
    }
  }

  public func commit() throws -> ObjectInfo {
    switch state {
    case .committed(let info): return info
    case .failed(let error): throw error
    case .aborted: throw StateError(key: key, operation: "commit")
    case .open, .finished: state = .finished
    }
    do {
      let info = try completeObject()
      state = .committed(info)
      return info
    } catch {
      throw fail(error)
    }
  }

  public func abort() {
    switch state {
    case .committed, .aborted: return
    default: state = .aborted
    }
    buffer = []
    heldParts = []
    cancelAndWait()
    abortUpload()
  }

  // MARK: - Parts

  /// Hands a full part to the workers, or keeps it in memory while the object is below the
  /// threshold.
  private func emitFullPart(_ part: [UInt8]) throws {
    if uploadId == nil && bytesWritten < threshold {
      _ = try numberPart(part)
      heldParts.append(part)
      return
    }
    try startUploadIfNeeded()
    try submit(part, number: numberPart(part))
  }

  /// Returns the part's number, and logs when the schedule raises the next part's size.
  private func numberPart(_ part: [UInt8]) throws -> Int {
    let previousSize = schedule.partSize
    let number = try schedule.addPart(size: Int64(part.count))
    if schedule.partSize > previousSize {
      client.log(
        .info,
        "S3 upload of \(key) outgrew its planned size; part size raised from "
          + "\(previousSize >> 20) MiB to \(schedule.partSize >> 20) MiB")
    }
    return number
  }

  private func startUploadIfNeeded() throws {
    guard uploadId == nil else { return }
    uploadId = try client.createMultipartUpload(key: fullKey)
    for (index, part) in heldParts.enumerated() {
      try submit(part, number: index + 1)
    }
    heldParts = []
  }

  private func submit(_ part: [UInt8], number: Int) throws {
    guard let uploadId else { return }
    slots.wait()
    if let error = firstWorkerError() {
      slots.signal()
      throw error
    }
    inFlight.enter()
    workers.submit { [self] in
      defer {
        slots.signal()
        inFlight.leave()
      }
      if shouldSkipPart() { return }
      do {
        let md5 = S3Checksum.md5(part)
        let etag = try client.uploadPart(
          key: fullKey, uploadId: uploadId, partNumber: number, body: part, md5: md5)
        recordPart(number, UploadedPart(etag: etag, md5: md5))
        store.partObserver?(Int64(part.count))
      } catch {
        recordWorkerError(error)
      }
    }
  }

  // MARK: - Completion

  private func completeObject() throws -> ObjectInfo {
    if uploadId == nil && (bytesWritten < threshold || bytesWritten == 0) {
      var body: [UInt8] = []
      body.reserveCapacity(Int(bytesWritten))
      for part in heldParts { body += part }
      body += buffer
      heldParts = []
      buffer = []
      let etag = try client.putObject(key: fullKey, body: body)
      return try verify(etag: etag, alternativeETag: nil)
    }

    if uploadId == nil {
      try startUploadIfNeeded()
    }
    if !buffer.isEmpty {
      let last = buffer
      buffer = []
      try submit(last, number: numberPart(last))
    }
    inFlight.wait()
    if let error = firstWorkerError() { throw error }

    let parts = partsInOrder()
    guard parts.count == schedule.partCount, let uploadId else {
      throw S3Error(
        request: "POST \(fullKey)", status: nil, code: nil,
        message: "only \(parts.count) of \(schedule.partCount) parts were uploaded",
        isRetryable: false)
    }
    let localETag = Self.multipartETag(parts.map(\.part.md5))
    do {
      let etag = try client.completeMultipartUpload(
        key: fullKey, uploadId: uploadId,
        parts: parts.map { (number: $0.number, etag: $0.part.etag) })
      self.uploadId = nil
      return try verify(etag: etag, alternativeETag: localETag)
    } catch let error as S3Error where error.code == "NoSuchUpload" {
      // A retried CompleteMultipartUpload whose first attempt succeeded finds the upload
      // gone. The object is then checked against the ETag computed from the parts.
      self.uploadId = nil
      return try verify(etag: localETag, alternativeETag: nil)
    }
  }

  /// Checks the stored object's size and ETag with a HEAD.
  private func verify(etag: String?, alternativeETag: String?) throws -> ObjectInfo {
    guard let info = try client.headObject(key: fullKey, relativeKey: key) else {
      throw LifeboatError(
        .dataError, "S3 object \(key) is missing right after its upload to \(store.location)")
    }
    if info.size != bytesWritten {
      throw LifeboatError(
        .dataError,
        "S3 object \(key) has \(info.size) bytes after upload; \(bytesWritten) were sent")
    }
    let stored = Self.normalizeETag(info.etag)
    let expected = [etag, alternativeETag].compactMap { Self.normalizeETag($0) }
    if let stored, !expected.isEmpty, !expected.contains(stored) {
      throw LifeboatError(
        .dataError,
        "S3 object \(key) has ETag \(stored) after upload; expected \(expected[0])")
    }
    return info
  }

  /// Returns the ETag S3 gives a multipart object: the MD5 of the parts' MD5s, `-` and the
  /// part count.
  static func multipartETag(_ partDigests: [[UInt8]]) -> String {
    S3Checksum.md5(partDigests.flatMap { $0 }).hexString + "-\(partDigests.count)"
  }

  static func normalizeETag(_ etag: String?) -> String? {
    guard let etag else { return nil }
    return etag.trimmingCharacters(in: CharacterSet(charactersIn: "\" ")).lowercased()
  }

  // MARK: - Failure

  /// Marks the writer failed, aborts the upload, and returns the error mapped for callers.
  private func fail(_ error: Error) -> Error {
    let mapped = store.mapError(error, key: key)
    if case .failed(let previous) = state { return previous }
    state = .failed(mapped)
    buffer = []
    heldParts = []
    cancelAndWait()
    abortUpload()
    return mapped
  }

  private func cancelAndWait() {
    lock.lock()
    isCancelled = true
    lock.unlock()
    inFlight.wait()
  }

  private func abortUpload() {
    guard let uploadId else { return }
    self.uploadId = nil
    do {
      try client.abortMultipartUpload(key: fullKey, uploadId: uploadId)
      client.log(.info, "aborted S3 multipart upload \(uploadId) of \(key)")
    } catch {
      client.log(
        .warning,
        "cannot abort S3 multipart upload \(uploadId) of \(key): \(error); its parts stay "
          + "stored until S3ObjectStore.abortStaleUploads or a bucket lifecycle rule removes "
          + "them")
    }
  }

  private func shouldSkipPart() -> Bool {
    lock.lock()
    defer { lock.unlock() }
    return isCancelled || workerError != nil
  }

  private func recordPart(_ number: Int, _ part: UploadedPart) {
    lock.lock()
    uploadedParts[number] = part
    lock.unlock()
  }

  private func recordWorkerError(_ error: Error) {
    lock.lock()
    if workerError == nil { workerError = error }
    lock.unlock()
  }

  private func firstWorkerError() -> Error? {
    lock.lock()
    defer { lock.unlock() }
    return workerError
  }

  private func partsInOrder() -> [(number: Int, part: UploadedPart)] {
    lock.lock()
    defer { lock.unlock() }
    return uploadedParts.keys.sorted().map { (number: $0, part: uploadedParts[$0]!) }
  }

  /// The error of a call on a writer that was already committed, aborted or finished.
  struct StateError: Error, CustomStringConvertible {
    var key: String
    var operation: String
    var description: String {
      "cannot \(operation) S3 object \(key): the write was already finished or aborted"
    }
  }
}
