import Foundation

/// The steps of an in-place restore, in the order they run.
public enum RestoreStep: Int, CaseIterable, Sendable {
  case download = 1
  case verify
  case stop
  case moveAside
  case putInPlace
  case checkDatabase
  case start
  case healthCheck

  /// The name used in logs, messages and JSON.
  public var name: String {
    switch self {
    case .download: return "download"
    case .verify: return "verify"
    case .stop: return "stop"
    case .moveAside: return "move-aside"
    case .putInPlace: return "put-in-place"
    case .checkDatabase: return "check-database"
    case .start: return "start"
    case .healthCheck: return "health-check"
    }
  }

  /// The step as log lines show it: `3/8 stop`.
  public var label: String { "\(rawValue)/\(RestoreStep.allCases.count) \(name)" }
}

/// The outcome of one step.
public struct StepRecord: Sendable {
  public enum Outcome: String, Sendable {
    case ok
    case skipped
    case failed
  }

  public var step: RestoreStep
  public var outcome: Outcome
  /// Seconds.
  public var duration: Double
  public var detail: String
}

/// The result of an in-place restore, for the command's output and exit status.
public struct RestoreReport: Sendable {
  public enum Outcome: String, Sendable {
    /// Every step passed.
    case restored
    /// A step failed before anything was stopped or moved; nothing changed.
    case failedBeforeChanges = "failed_before_changes"
    /// A step failed, and the previous files and services were put back.
    case rolledBack = "rolled_back"
    /// A step failed and putting the previous state back failed too: the operator must act.
    case rollbackFailed = "rollback_failed"
  }

  public var id: String
  public var outcome: Outcome
  public var steps: [StepRecord]
  public var failedStep: RestoreStep?
  /// The error of the failed step, in operator-facing form.
  public var error: LifeboatError?
  /// Problems met while rolling back.
  public var rollbackProblems: [String] = []
  /// Actions the operator must take by hand after a failed rollback.
  public var operatorActions: [String] = []
  /// Rollback directories left on disk: kept on success, or holding files after a failure.
  public var rollbackDirectories: [String] = []
  public var warnings: [String] = []
  /// Set when the restore stopped because of a signal.
  public var signal: Int32?

  /// The process exit status: 0, the failed step's own status before any change, 1 after a
  /// rollback (130 when a signal caused it), and 3 when the rollback failed.
  public var exitStatus: Int32 {
    switch outcome {
    case .restored: return 0
    case .failedBeforeChanges:
      if signal != nil { return LifeboatError.Code.interrupted.rawValue }
      return error?.code.rawValue ?? LifeboatError.Code.failure.rawValue
    case .rolledBack:
      return signal != nil ? LifeboatError.Code.interrupted.rawValue : LifeboatError.Code.failure.rawValue
    case .rollbackFailed: return LifeboatError.Code.rollbackFailed.rawValue
    }
  }
}
