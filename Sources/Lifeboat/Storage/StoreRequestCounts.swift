import Foundation

/// Requests sent to a store, by verb, and the bytes they moved.
public struct StoreRequestCounts: Sendable, Equatable {
  /// Object writes started (`makeWriter`, and so `put`).
  public var put = 0
  /// Object reads (`read`, and so `get`).
  public var get = 0
  public var head = 0
  public var list = 0
  public var delete = 0
  /// Part uploads of multipart writes, reported by a store that conforms to `MultipartReporting`.
  public var part = 0
  /// Bytes passed to object writers.
  public var bytesUploaded: Int64 = 0
  /// Bytes delivered by object reads.
  public var bytesDownloaded: Int64 = 0

  public init() {}

  public var total: Int { put + get + head + list + delete + part }

  /// The counts as (verb, count) pairs in a fixed order, for summaries and metrics.
  public var byVerb: [(verb: String, count: Int)] {
    [("put", put), ("get", get), ("head", head), ("list", list), ("delete", delete), ("part", part)]
  }

  /// Renders the counts as a JSON object: `{"put":2,…,"bytes_uploaded":…}`.
  public var json: String {
    let verbs = byVerb.map { "\"\($0.verb)\":\($0.count)" }.joined(separator: ",")
    return "{\(verbs),\"total\":\(total),\"bytes_uploaded\":\(bytesUploaded),\"bytes_downloaded\":\(bytesDownloaded)}"
  }

  /// The counts as log fields: `requests_put`, …, `bytes_uploaded`, `bytes_downloaded`.
  public var logFields: [(String, LogValue)] {
    byVerb.map { ("requests_\($0.verb)", LogValue.int(Int64($0.count))) } + [
      ("bytes_uploaded", .int(bytesUploaded)), ("bytes_downloaded", .int(bytesDownloaded)),
    ]
  }
}
