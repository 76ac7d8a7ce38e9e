import Foundation

/// The Prometheus textfile that node_exporter's textfile collector reads: one gauge per fact about
/// the last run of each command, and the repository's size.
///
/// Each run rewrites the whole file under a temporary name and renames it into place, so the
/// collector never reads half a file. The series of other commands are read back from the old
/// file and kept, and so is the command's own last success time when this run failed.
public enum MetricsTextfile {
  /// The metric families written, in file order, with their help text. All are gauges.
  static let families: [(name: String, help: String)] = [
    ("lifeboat_last_run_timestamp_seconds", "Unix time at which the last run of the command ended."),
    ("lifeboat_last_success_timestamp_seconds",
     "Unix time at which the last successful run of the command ended (warnings count as success)."),
    ("lifeboat_last_run_duration_seconds", "Duration of the last run of the command."),
    ("lifeboat_last_run_status", "1 for the outcome of the last run of the command, 0 for the others."),
    ("lifeboat_last_run_exit_code", "Exit status of the last run of the command."),
    ("lifeboat_last_run_read_bytes", "Bytes read from the sources by the last run."),
    ("lifeboat_last_run_written_bytes", "Bytes of archive written by the last run."),
    ("lifeboat_last_run_uploaded_bytes", "Bytes sent to the repository by the last run."),
    ("lifeboat_last_run_downloaded_bytes", "Bytes read from the repository by the last run."),
    ("lifeboat_last_run_files", "Regular files stored by the last run."),
    ("lifeboat_last_run_requests", "Requests sent to the repository by the last run, by verb."),
    ("lifeboat_last_run_retries", "Requests retried by the last run."),
    ("lifeboat_last_run_breaker_openings", "Times the circuit breaker opened during the last run."),
    ("lifeboat_repository_backups", "Committed backups in the repository."),
    ("lifeboat_repository_size_bytes", "Bytes of all objects under backups/ in the repository."),
    ("lifeboat_repository_newest_backup_timestamp_seconds",
     "Start time of the newest committed backup in the repository."),
  ]

  /// Updates the textfile at `path` with the series of `report`.
  ///
  /// - Parameter repository: the repository's statistics, or nil when they could not be read, in
  ///   which case the previous repository series are kept.
  /// - Throws: `SystemError` when the file cannot be locked, written or renamed.
  public static func update(path: String, report: RunReport, repository: RepositoryStatistics?)
    throws
  {
    let lockPath = path + ".lock"
    let lock = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
    guard lock >= 0 else { throw SystemError("open", path: lockPath) }
    defer { close(lock) }
    // Two commands that finish together must not both read the old file and drop each other's
    // series.
    guard flock(lock, LOCK_EX) == 0 else { throw SystemError("flock", path: lockPath) }

    let previous = readWholeFile(path).map { parse(String(decoding: $0, as: UTF8.self)) } ?? []
    let text = render(report: report, repository: repository, previous: previous)
    try writeAtomically(text, to: path)
  }

  /// Builds the file's text from this run and the samples of the previous file.
  static func render(report: RunReport, repository: RepositoryStatistics?, previous: [PrometheusSample])
    -> String
  {
    var samples = currentSamples(report: report, repository: repository)
    for sample in previous where keeps(sample, report: report, hasRepository: repository != nil) {
      samples.append(sample)
    }

    var text = ""
    for family in families {
      let members = samples.filter { $0.name == family.name }
        .sorted { $0.labelText < $1.labelText }
      guard !members.isEmpty else { continue }
      text += "# HELP \(family.name) \(family.help)\n"
      text += "# TYPE \(family.name) gauge\n"
      for sample in members { text += sample.line + "\n" }
    }
    return text
  }

  /// Returns whether a sample of the previous file is kept. Samples of families that this version
  /// does not write are dropped.
  private static func keeps(_ sample: PrometheusSample, report: RunReport, hasRepository: Bool) -> Bool {
    guard families.contains(where: { $0.name == sample.name }) else { return false }
    guard let command = sample.label("command") else {
      return sample.name.hasPrefix("lifeboat_repository_") && !hasRepository
    }
    if command != report.command { return true }
    return sample.name == "lifeboat_last_success_timestamp_seconds" && !report.outcome.isSuccess
  }

  private static func currentSamples(report: RunReport, repository: RepositoryStatistics?)
    -> [PrometheusSample]
  {
    let command = [("command", report.command)]
    func sample(_ name: String, _ value: String, _ extra: [(String, String)] = []) -> PrometheusSample {
      PrometheusSample(name: name, labels: command + extra, value: value)
    }
    let finished = seconds(report.finished.timeIntervalSince1970)

    var samples = [
      sample("lifeboat_last_run_timestamp_seconds", finished),
      sample("lifeboat_last_run_duration_seconds", seconds(report.duration)),
      sample("lifeboat_last_run_exit_code", String(report.exitCode)),
      sample("lifeboat_last_run_uploaded_bytes", String(report.requests.bytesUploaded)),
      sample("lifeboat_last_run_downloaded_bytes", String(report.requests.bytesDownloaded)),
      sample("lifeboat_last_run_retries", String(report.retries)),
      sample("lifeboat_last_run_breaker_openings", String(report.breakerOpenings)),
    ]
    if report.outcome.isSuccess {
      samples.append(sample("lifeboat_last_success_timestamp_seconds", finished))
    }
    for status in RunStatus.allCases {
      let value = status == report.outcome ? "1" : "0"
      samples.append(sample("lifeboat_last_run_status", value, [("status", status.rawValue)]))
    }
    if let bytes = report.bytesRead { samples.append(sample("lifeboat_last_run_read_bytes", String(bytes))) }
    if let bytes = report.bytesWritten {
      samples.append(sample("lifeboat_last_run_written_bytes", String(bytes)))
    }
    if let files = report.files { samples.append(sample("lifeboat_last_run_files", String(files))) }
    for (verb, count) in report.requests.byVerb {
      samples.append(sample("lifeboat_last_run_requests", String(count), [("verb", verb)]))
    }

    if let repository {
      samples.append(PrometheusSample(name: "lifeboat_repository_backups", labels: [], value: String(repository.backups)))
      samples.append(
        PrometheusSample(name: "lifeboat_repository_size_bytes", labels: [], value: String(repository.sizeBytes)))
      if let newest = repository.newestBackupTime {
        samples.append(
          PrometheusSample(
            name: "lifeboat_repository_newest_backup_timestamp_seconds", labels: [],
            value: seconds(newest.timeIntervalSince1970)))
      }
    }
    return samples
  }

  private static func seconds(_ value: Double) -> String { String(format: "%.3f", value) }

  /// Parses the samples of a text-format file, skipping comments and lines that do not parse.
  static func parse(_ text: String) -> [PrometheusSample] {
    text.split(separator: "\n").compactMap { line in
      line.hasPrefix("#") ? nil : PrometheusSample(line: String(line))
    }
  }

  /// Writes `text` to a temporary file beside `path`, mode 0644 whatever the umask, fsyncs it and
  /// renames it over `path`.
  static func writeAtomically(_ text: String, to path: String) throws {
    let directory = (path as NSString).deletingLastPathComponent
    let name = (path as NSString).lastPathComponent
    // A name that does not end in .prom, so the collector never reads the temporary file.
    let temporary = (directory.isEmpty ? "" : directory + "/") + ".\(name).\(getpid()).tmp"
    unlink(temporary)
    let fd = open(temporary, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw SystemError("create", path: temporary) }
    TemporaryFiles.register(temporary)
    defer { TemporaryFiles.unregister(temporary) }

    let bytes = Array(text.utf8)
    var written = 0
    while written < bytes.count {
      let count = bytes.withUnsafeBytes { raw in
        write(fd, raw.baseAddress.map { $0 + written }, bytes.count - written)
      }
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else {
        let error = SystemError("write", path: temporary)
        close(fd)
        unlink(temporary)
        throw error
      }
      written += count
    }
    // node_exporter often runs as another user: the file must be world-readable.
    guard fchmod(fd, 0o644) == 0, fsync(fd) == 0 else {
      let error = SystemError("fchmod or fsync", path: temporary)
      close(fd)
      unlink(temporary)
      throw error
    }
    close(fd)
    guard rename(temporary, path) == 0 else {
      let error = SystemError("rename to \(path)", path: temporary)
      unlink(temporary)
      throw error
    }
    let directoryFD = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if directoryFD >= 0 {
      fsync(directoryFD)
      close(directoryFD)
    }
  }
}
