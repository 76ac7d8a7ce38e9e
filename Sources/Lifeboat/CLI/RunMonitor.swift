import Foundation

extension CommandContext {
  /// Completes the run's report and hands it to the metrics file and to alerts, as configured.
  ///
  /// Never throws and never changes the exit status: a metrics file that cannot be written or an
  /// alert that cannot be sent is logged as a warning. Does nothing when the configuration could
  /// not be loaded, because then neither is known.
  func finishRun(exitCode: Int32, error: LifeboatError?) {
    guard let configuration = loadedConfiguration else { return }
    report.finished = Date()
    report.exitCode = exitCode
    if let error {
      report.status = .failure
      report.error = Redaction.redact(error.message)
    }
    report.host = (try? hostName()) ?? "unknown"
    if let store = repository?.store {
      report.requests = store.layer(CountingObjectStore.self)?.counts ?? report.requests
      report.retries = store.layer(RetryReporting.self)?.retryCount ?? 0
      report.breakerOpenings = store.layer(CircuitBreakerReporting.self)?.breakerOpenings ?? 0
    }

    if let path = configuration.string("metrics.file") {
      writeMetrics(path: path)
    }
    do {
      let settings = try AlertSettings(configuration: configuration)
      AlertDispatcher.dispatch(report, settings: settings, environment: environment, logger: logger)
    } catch {
      logger.warning("alerts not sent: \(error)")
    }
  }

  private func writeMetrics(path: String) {
    var statistics: RepositoryStatistics?
    if let repository {
      do {
        statistics = try repository.statistics()
      } catch {
        // Usually the failure the run already reported: keep the previous repository series.
        logger.info("repository statistics not updated in the metrics file: \(error)")
      }
    }
    do {
      try MetricsTextfile.update(path: path, report: report, repository: statistics)
      logger.debug("metrics file updated", [("metrics_file", .string(path))])
    } catch {
      logger.warning("metrics file \(path) not updated: \(error)")
    }
  }
}
