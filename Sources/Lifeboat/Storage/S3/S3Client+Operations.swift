import Foundation

/// A multipart upload that was started and neither completed nor aborted.
public struct S3MultipartUpload: Equatable, Sendable {
  /// The key relative to the store's prefix.
  public var key: String
  public var uploadId: String
  public var initiated: Date?

  public init(key: String, uploadId: String, initiated: Date?) {
    self.key = key
    self.uploadId = uploadId
    self.initiated = initiated
  }
}

/// One page of a listing: entries and the token or markers of the next page.
struct S3ListPage<Entry> {
  var entries: [Entry]
  var isTruncated: Bool
  var next: [(name: String, value: String?)]
}

/// The S3 REST operations, on full keys (prefix included). They throw `S3Error`,
/// `CircuitBreaker.OpenError` or a sink's error, which the store maps to `StorageError`.
extension S3Client {
  /// Headers that set encryption and storage class on new objects.
  var objectCreationHeaders: [(name: String, value: String)] {
    var headers: [(name: String, value: String)] = [
      (name: "content-type", value: "application/octet-stream")
    ]
    switch configuration.serverSideEncryption {
    case .aes256:
      headers.append((name: "x-amz-server-side-encryption", value: "AES256"))
    case .kms(let keyId):
      headers.append((name: "x-amz-server-side-encryption", value: "aws:kms"))
      if let keyId {
        headers.append((name: "x-amz-server-side-encryption-aws-kms-key-id", value: keyId))
      }
    case nil:
      break
    }
    if let storageClass = configuration.storageClass {
      headers.append((name: "x-amz-storage-class", value: storageClass))
    }
    return headers
  }

  /// Stores `body` under `key` in one PUT and returns the ETag.
  func putObject(key: String, body: [UInt8]) throws -> String? {
    var call = S3Call(method: "PUT", key: key, body: body)
    call.headers = [(name: "content-md5", value: S3Checksum.contentMD5(body))]
    call.headers += objectCreationHeaders
    return try send(call).header("etag")
  }

  /// Streams `key`, or the inclusive byte `range` of it, to `sink`.
  ///
  /// A transfer cut short is resumed from the last byte received, on condition that the
  /// object's ETag has not changed, so the sink never receives a byte twice.
  func getObject(key: String, range: ClosedRange<Int64>?, into sink: ByteSink) throws {
    let counter = CountingSink(next: sink)
    var call = S3Call(method: "GET", key: key, sink: counter)
    if let range {
      call.headers = [(name: "range", value: "bytes=\(range.lowerBound)-\(range.upperBound)")]
    }
    var etag: String?
    _ = try send(call) { call, previous in
      if etag == nil, let response = previous.response,
        (200...299).contains(response.status)
      {
        etag = response.header("etag")
      }
      guard counter.count > 0 else { return }
      let start = (range?.lowerBound ?? 0) + counter.count
      let end = range.map { String($0.upperBound) } ?? ""
      call.headers = [(name: "range", value: "bytes=\(start)-\(end)")]
      if let etag { call.headers.append((name: "if-match", value: etag)) }
      call.sinkStatuses = 206...206
    }
  }

  /// Returns the object's metadata, or nil on 404.
  func headObject(key: String, relativeKey: String) throws -> ObjectInfo? {
    var call = S3Call(method: "HEAD", key: key)
    call.acceptedStatuses = [404]
    let response = try send(call)
    if response.status == 404 { return nil }
    let size = response.header("content-length").flatMap { Int64($0) } ?? 0
    return ObjectInfo(
      key: relativeKey, size: size,
      lastModified: response.header("last-modified").flatMap(HTTPDate.parse),
      etag: response.header("etag"))
  }

  func deleteObject(key: String) throws {
    var call = S3Call(method: "DELETE", key: key)
    call.acceptedStatuses = [404]
    _ = try send(call)
  }

  /// Returns one page of ListObjectsV2 for keys starting with `prefix`.
  func listObjectsPage(
    prefix: String, continuation: [(name: String, value: String?)]
  ) throws -> S3ListPage<ObjectInfo> {
    var call = S3Call(method: "GET", key: nil)
    call.query = [
      (name: "list-type", value: "2"), (name: "prefix", value: prefix),
      (name: "max-keys", value: String(configuration.listPageSize)),
      (name: "encoding-type", value: "url"),
    ]
    call.query += continuation
    let response = try send(call)
    let root = try parseDocument(response, expected: "ListBucketResult", call: call)
    let isURLEncoded = root.text(of: "EncodingType") == "url"
    let entries = root.children("Contents").map { element in
      ObjectInfo(
        key: Self.decodeListedKey(element.text(of: "Key") ?? "", isURLEncoded: isURLEncoded),
        size: Int64(element.text(of: "Size") ?? "") ?? 0,
        lastModified: element.text(of: "LastModified").flatMap(Self.parseISO8601),
        etag: element.text(of: "ETag"))
    }
    let isTruncated = root.text(of: "IsTruncated") == "true"
    var next: [(name: String, value: String?)] = []
    if isTruncated {
      guard let token = root.text(of: "NextContinuationToken"), !token.isEmpty else {
        throw invalidResponse(call, "truncated listing without NextContinuationToken")
      }
      next = [(name: "continuation-token", value: token)]
    }
    return S3ListPage(entries: entries, isTruncated: isTruncated, next: next)
  }

  /// Starts a multipart upload and returns its upload id.
  func createMultipartUpload(key: String) throws -> String {
    var call = S3Call(method: "POST", key: key, body: [])
    call.query = [(name: "uploads", value: nil)]
    call.headers = objectCreationHeaders
    let response = try send(call)
    let root = try parseDocument(response, expected: "InitiateMultipartUploadResult", call: call)
    guard let uploadId = root.text(of: "UploadId"), !uploadId.isEmpty else {
      throw invalidResponse(call, "no UploadId in the response")
    }
    return uploadId
  }

  /// Uploads one part and returns its ETag.
  func uploadPart(key: String, uploadId: String, partNumber: Int, body: [UInt8], md5: [UInt8])
    throws -> String
  {
    var call = S3Call(method: "PUT", key: key, body: body)
    call.query = [
      (name: "partNumber", value: String(partNumber)), (name: "uploadId", value: uploadId),
    ]
    call.headers = [(name: "content-md5", value: Data(md5).base64EncodedString())]
    let response = try send(call)
    guard let etag = response.header("etag") else {
      throw invalidResponse(call, "no ETag for part \(partNumber)")
    }
    return etag
  }

  /// Completes a multipart upload from `parts` (number and ETag, ascending) and returns the
  /// object's ETag.
  func completeMultipartUpload(
    key: String, uploadId: String, parts: [(number: Int, etag: String)]
  ) throws -> String? {
    var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    for part in parts {
      xml += "<Part><PartNumber>\(part.number)</PartNumber>"
      xml += "<ETag>\(xmlEscape(part.etag))</ETag></Part>"
    }
    xml += "</CompleteMultipartUpload>"
    var call = S3Call(method: "POST", key: key, body: Array(xml.utf8))
    call.query = [(name: "uploadId", value: uploadId)]
    call.headers = [(name: "content-type", value: "application/xml")]
    call.errorMayFollow200 = true
    let response = try send(call)
    // moto 5.2.1 names the root CompleteMultipartUploadResponse, where S3 uses ...Result.
    let root = try parseDocument(
      response, expected: "CompleteMultipartUploadResult",
      alternative: "CompleteMultipartUploadResponse", call: call)
    return root.text(of: "ETag")
  }

  /// Aborts a multipart upload. An upload that no longer exists counts as aborted.
  ///
  /// Clean-up bypasses the circuit breaker so that an upload started before the breaker
  /// opened can still be removed, and makes at most 3 attempts.
  func abortMultipartUpload(key: String, uploadId: String) throws {
    var call = S3Call(method: "DELETE", key: key)
    call.query = [(name: "uploadId", value: uploadId)]
    call.acceptedStatuses = [404]
    call.usesBreaker = false
    call.maxAttempts = min(retryPolicy.maxAttempts, 3)
    _ = try send(call)
  }

  /// Returns one page of ListMultipartUploads for keys starting with `prefix`, with full keys.
  func listMultipartUploadsPage(
    prefix: String, markers: [(name: String, value: String?)]
  ) throws -> S3ListPage<S3MultipartUpload> {
    var call = S3Call(method: "GET", key: nil)
    call.query = [
      (name: "uploads", value: nil), (name: "prefix", value: prefix),
      (name: "encoding-type", value: "url"),
    ]
    call.query += markers
    let response = try send(call)
    let root = try parseDocument(response, expected: "ListMultipartUploadsResult", call: call)
    let isURLEncoded = root.text(of: "EncodingType") == "url"
    let entries = root.children("Upload").compactMap { element -> S3MultipartUpload? in
      guard let key = element.text(of: "Key"), let uploadId = element.text(of: "UploadId")
      else { return nil }
      return S3MultipartUpload(
        key: Self.decodeListedKey(key, isURLEncoded: isURLEncoded), uploadId: uploadId,
        initiated: element.text(of: "Initiated").flatMap(Self.parseISO8601))
    }
    let isTruncated = root.text(of: "IsTruncated") == "true"
    var next: [(name: String, value: String?)] = []
    if isTruncated {
      guard let keyMarker = root.text(of: "NextKeyMarker"), !keyMarker.isEmpty else {
        throw invalidResponse(call, "truncated upload listing without NextKeyMarker")
      }
      next = [
        (
          name: "key-marker",
          value: Self.decodeListedKey(keyMarker, isURLEncoded: isURLEncoded)
        ),
        (name: "upload-id-marker", value: root.text(of: "NextUploadIdMarker") ?? ""),
      ]
    }
    return S3ListPage(entries: entries, isTruncated: isTruncated, next: next)
  }

  private func parseDocument(
    _ response: HTTPResponse, expected: String, alternative: String? = nil, call: S3Call
  ) throws -> S3XMLElement {
    guard let root = S3XMLElement.parse(response.body),
      root.name == expected || root.name == alternative
    else {
      throw invalidResponse(call, "expected a \(expected) XML document")
    }
    return root
  }

  private func invalidResponse(_ call: S3Call, _ message: String) -> S3Error {
    S3Error(
      request: call.label, status: nil, code: nil,
      message: "invalid response from \(endpoint.displayURL): \(message)", isRetryable: false)
  }

  /// Decodes a key from a listing made with `encoding-type=url`, in which S3 writes a space
  /// as `+` and a `+` as `%2B`.
  static func decodeListedKey(_ key: String, isURLEncoded: Bool) -> String {
    guard isURLEncoded else { return key }
    let spaced = key.replacingOccurrences(of: "+", with: " ")
    return spaced.removingPercentEncoding ?? spaced
  }
}

/// A pass-through sink that counts the bytes it forwards.
final class CountingSink: ByteSink {
  let next: ByteSink
  private(set) var count: Int64 = 0

  init(next: ByteSink) { self.next = next }

  func write(_ bytes: UnsafeRawBufferPointer) throws {
    try next.write(bytes)
    count += Int64(bytes.count)
  }

  func finish() throws { try next.finish() }
}
