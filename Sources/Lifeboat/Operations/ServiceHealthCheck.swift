import Foundation

/// Waits for the application to report healthy after a restore: a command that must exit 0,
/// a URL that must respond 2xx without `"status": "unhealthy"`, or both in the same attempt.
public struct ServiceHealthCheck: Sendable {
  public var command: String?
  public var url: String?
  /// Seconds to keep trying.
  public var timeout: Double
  /// Seconds one attempt (the command, or the request) may take.
  public var attemptTimeout: Double
  public var environment: [String: String]

  public init(
    command: String?, url: String?, timeout: Double, attemptTimeout: Double,
    environment: [String: String] = [:]
  ) {
    self.command = command
    self.url = url
    self.timeout = timeout
    self.attemptTimeout = attemptTimeout
    self.environment = environment
  }

  public var isConfigured: Bool { command != nil || url != nil }

  /// Tries until an attempt passes and returns the number of attempts.
  ///
  /// The pause between attempts starts at 0.25 s and doubles up to 2 s.
  /// - Throws: `ServiceHealthCheckError` with the last problem when `timeout` passes, or
  ///   `InterruptedError` when a signal is pending.
  public func waitUntilHealthy(logger: Logger) throws -> Int {
    let started = Date()
    let deadline = started.addingTimeInterval(timeout)
    var attempts = 0
    var pause = 0.25
    var lastProblem: String?
    while true {
      if let signal = Interruption.pending { throw InterruptedError(signal: signal) }
      attempts += 1
      let remaining = max(0.1, deadline.timeIntervalSinceNow)
      let problem = try attempt(timeout: min(attemptTimeout, remaining), logger: logger)
      guard let problem else {
        logger.info("application is healthy", [
          ("attempts", .int(Int64(attempts))),
          ("waited_s", .double(Date().timeIntervalSince(started))),
        ])
        return attempts
      }

      // Log the first failure and every change, so a long wait does not flood the log.
      let level: LogLevel = problem == lastProblem ? .debug : .info
      logger.log(level, "health check failed; retrying", [
        ("attempt", .int(Int64(attempts))), ("problem", .string(problem)),
      ])
      lastProblem = problem
      let remainingTime = deadline.timeIntervalSinceNow
      if remainingTime <= 0 {
        throw ServiceHealthCheckError(
          problem: problem, attempts: attempts, timeout: timeout,
          waited: Date().timeIntervalSince(started))
      }
      // The last pause is cut short so that one attempt falls at the deadline.
      usleep(UInt32(min(pause, remainingTime) * 1_000_000))
      pause = min(pause * 2, 2)
    }
  }

  /// Returns nil when the attempt passed, else what failed.
  private func attempt(timeout: Double, logger: Logger) throws -> String? {
    if let command {
      let hook = ShellHook(
        name: "health", command: command, timeout: timeout, environment: environment,
        outputLevel: .debug)
      let result = try hook.run(logger: logger) { Interruption.pending != nil }
      if !result.succeeded {
        let output = result.lastLines.last.map { ": \($0)" } ?? ""
        return "health command \(result.summary)\(output)"
      }
    }
    if let url {
      do {
        let response = try HTTPProbe.get(url, timeout: timeout)
        if let problem = HTTPProbe.problem(with: response) { return "GET \(url): \(problem)" }
      } catch let error as HTTPProbeError {
        return error.description
      }
    }
    return nil
  }
}

/// The application did not become healthy in time.
public struct ServiceHealthCheckError: Error, CustomStringConvertible {
  public var problem: String
  public var attempts: Int
  /// Seconds allowed, and seconds spent.
  public var timeout: Double
  public var waited: Double

  public var description: String {
    "the application did not become healthy within the health timeout of \(String(format: "%g", timeout)) s (\(attempts) attempts in \(String(format: "%.1f", waited)) s); last problem: \(problem)"
  }
}
