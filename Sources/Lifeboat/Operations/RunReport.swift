import Foundation

/// The outcome of a run, in the words that metrics, alerts and `[alert] on` use.
public enum RunStatus: String, Sendable, CaseIterable {
  case success
  /// A backup was stored, but files changed or vanished while they were read.
  case warnings
  /// A backup was stored without some files that could not be read.
  case partial
  case failure

  /// Maps a backup's manifest status (`complete`, `warnings`, `partial`) to a run status.
  public init(backupStatus: String) {
    switch backupStatus {
    case "complete": self = .success
    case "warnings": self = .warnings
    default: self = .partial
    }
  }

  /// True when the run did its job, warnings included: a `partial` backup misses files.
  public var isSuccess: Bool { self == .success || self == .warnings }
}

/// What one run of a command did, for the metrics file and alerts.
///
/// The command fills in its own facts (backup id, bytes, files), and the command-line tool adds
/// the outcome, timing and request counts when the command returns.
public struct RunReport: Sendable {
  /// A fresh id for each run, in every log line of the run and in its alerts.
  public var runID: String
  public var command: String
  public var host: String = ""
  public var started: Date
  public var finished: Date
  /// The outcome, or nil to derive it from the exit status at the end.
  public var status: RunStatus?
  public var exitCode: Int32 = 0
  /// The error that ended the run, or a summary of what was skipped for a partial backup.
  public var error: String?
  public var backupID: String?
  /// Bytes read from the sources.
  public var bytesRead: Int64?
  /// Bytes of archive written.
  public var bytesWritten: Int64?
  public var files: Int?
  public var requests = StoreRequestCounts()
  public var retries = 0
  public var breakerOpenings = 0

  public init(command: String, started: Date = Date(), runID: String? = nil) {
    self.command = command
    self.started = started
    self.finished = started
    self.runID = runID ?? RunReport.makeRunID(time: started)
  }

  public var duration: Double { max(0, finished.timeIntervalSince(started)) }

  /// The outcome, from `status` or else from the exit status.
  public var outcome: RunStatus { status ?? (exitCode == 0 ? .success : .failure) }

  /// `20261204T031500Z-3fa29c1b`: the start time and 32 random bits.
  public static func makeRunID(time: Date) -> String {
    Timestamp.compact(time) + "-" + String(format: "%08x", UInt32.random(in: 0...UInt32.max))
  }
}
