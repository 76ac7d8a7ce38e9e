import Foundation

/// Everything a command needs at run time.
public final class CommandContext {
  public let arguments: ParsedArguments
  public let environment: [String: String]
  public let output: FileHandle
  public private(set) var logger: Logger
  /// The report of this run: the command fills it in, and the metrics file and alerts read it.
  public var report: RunReport
  /// The repository the command opened, through its counting (and fault injection) layers.
  public private(set) var repository: Repository?
  private(set) var loadedConfiguration: Configuration?
  private var faultInjector: FaultInjector?
  private var faultsAnnounced = false

  init(arguments: ParsedArguments, environment: [String: String], output: FileHandle, command: String) {
    self.arguments = arguments
    self.environment = environment
    self.output = output
    self.logger = Logger(level: .warning, format: .text)
    self.report = RunReport(command: command)
  }

  /// Loads the configuration and sets up logging from it. Fails before any work starts.
  public func configuration() throws -> Configuration {
    if let loadedConfiguration { return loadedConfiguration }
    let configuration = try Configuration.load(
      file: arguments.value("config"), environment: environment,
      flags: arguments.options.filter { SettingsSchema.spec(flag: $0.0) != nil })
    logger = try makeLogger(configuration)
    logger.context.append(("run_id", .string(report.runID)))
    for name in ["s3.secret_access_key", "s3.session_token", "alert.smtp_password", "alert.webhook_url"] {
      if let secret = configuration.string(name) { Redaction.register(secret: secret) }
    }
    for name in ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"] {
      if let secret = environment[name] { Redaction.register(secret: secret) }
    }
    // Settings read only when the run ends are checked now, so a mistake stops the run early.
    _ = try AlertSettings(configuration: configuration)
    if let text = configuration.string("faults.inject") {
      let source = configuration.origin("faults.inject")?.description ?? "faults"
      let plan = try FaultPlan.parse(text, source: source)
      if plan.isActive { faultInjector = FaultInjector(plan: plan) }
    }
    loadedConfiguration = configuration
    return configuration
  }

  /// Returns the fault injector of `[faults] inject` or `LIFEBOAT_FAULTS`, or nil when no fault is
  /// configured. The first call with faults on logs a warning, so that a drill is never mistaken
  /// for a real outage.
  public func faults() throws -> FaultInjector? {
    _ = try configuration()
    guard let faultInjector else { return nil }
    if !faultsAnnounced {
      faultsAnnounced = true
      logger.warning(
        "fault injection is on: calls fail on purpose (\(faultInjector.plan.summary)); for drills only",
        [("faults", .string(loadedConfiguration?.string("faults.inject") ?? ""))])
    }
    return faultInjector
  }

  /// Returns the host name recorded in backup ids and alerts: `[backup] host`, else this
  /// machine's name without its domain.
  public func hostName() throws -> String {
    let host = try configuration().string("backup.host") ?? ProcessInfo.processInfo.hostName
    return host.split(separator: ".").first.map(String.init) ?? host
  }

  private func makeLogger(_ configuration: Configuration) throws -> Logger {
    let format = LogFormat(rawValue: configuration.string("log.format") ?? "text") ?? .text
    // Under cron no one reads progress, so only warnings and errors go to stderr, besides the
    // summary on stdout.
    let interactive = isatty(STDERR_FILENO) != 0
    var level: LogLevel = interactive ? .info : .warning
    if let name = configuration.string("log.level"), let configured = LogLevel(name: name) {
      level = configured
    }
    if arguments.has("verbose") { level = min(level, .debug) }
    if arguments.has("quiet") { level = .error }
    var file: RotatingLogFile?
    if let path = configuration.string("log.file") {
      do {
        file = try RotatingLogFile(path: path)
      } catch {
        throw LifeboatError(.configuration, "cannot open log file \(path): \(error)")
      }
    }
    return Logger(level: level, format: format, file: file)
  }

  /// Returns the repository URL, or throws a usage error naming how to set it.
  public func repositoryURL() throws -> String {
    guard let url = try configuration().string("repository.url"), !url.isEmpty else {
      throw LifeboatError(
        .usage, "no repository given",
        hint: "pass --repo file:///path or --repo s3://bucket/prefix, or set url in [repository]")
    }
    return url
  }

  /// Opens the configured repository's store under a `CountingObjectStore`, with a
  /// `FaultInjectingObjectStore` between them when faults are configured.
  public func openRepository(create: Bool) throws -> Repository {
    var store = try StoreFactory.open(
      url: try repositoryURL(), configuration: try configuration(), environment: environment,
      create: create, logger: logger)
    if let faults = try faults() {
      store = FaultInjectingObjectStore(base: store, injector: faults)
    }
    let repository = Repository(store: CountingObjectStore(base: store))
    // Keys are loaded once: a passphrase on a file descriptor can be read only once.
    repository.keys = try self.repository?.keys ?? loadRepositoryKeys()
    self.repository = repository
    return repository
  }

  public func print(_ line: String) {
    output.write(Data((line + "\n").utf8))
  }
}

/// A subcommand: its help text, options and behaviour.
public struct Command {
  public var name: String
  public var summary: String
  public var usage: String
  public var options: [OptionSpec]
  public var maxPositionals: Int
  public var examples: [String]
  public var details: String?
  public var run: (CommandContext) throws -> Int32
  /// True when each run updates the metrics file and may send an alert (backup, verify, prune).
  public var isMonitored = false

  public var help: String {
    var text = "\(summary)\n\nusage: \(usage)\n"
    if let details { text += "\n\(details)\n" }
    text += "\noptions:\n"
    for option in options {
      var left = "  "
      if let short = option.short { left += "-\(short), " } else { left += "    " }
      left += "--\(option.name)"
      if let value = option.valueName { left += " \(value)" }
      let padding = max(2, 34 - left.count)
      text += left + String(repeating: " ", count: padding) + option.help + "\n"
    }
    text += "\nexamples:\n"
    for example in examples { text += "  \(example)\n" }
    return text
  }
}

extension OptionSpec {
  /// Returns the option that sets a configuration setting, with the help text of its schema
  /// entry. Pass no `value` for a `.bool` setting, whose flag takes none.
  static func setting(_ flag: String, value: String? = nil) -> OptionSpec {
    guard let spec = SettingsSchema.spec(flag: flag) else {
      preconditionFailure("no setting has the flag --\(flag)")
    }
    return OptionSpec(flag, value: value, help: spec.help)
  }
}

/// Options every command that touches a repository accepts.
enum CommonOptions {
  static let logging: [OptionSpec] = [
    OptionSpec("config", short: "c", value: "FILE", help: "config file (default /etc/lifeboat/lifeboat.conf if present)"),
    OptionSpec("log-format", value: "FORMAT", help: "text (default), json, or auto (json unless on a terminal)"),
    OptionSpec("log-level", value: "LEVEL", help: "trace, debug, info, notice, warning or error"),
    OptionSpec("log-file", value: "FILE", help: "also append JSON log lines to FILE (rotated at 10 MiB)"),
    OptionSpec("verbose", short: "v", help: "log decisions and progress (debug level)"),
    OptionSpec("quiet", short: "q", help: "print errors only"),
    OptionSpec("help", short: "h", help: "show this help"),
  ]

  static let encryption: [OptionSpec] = [
    OptionSpec("identity", short: "i", value: "FILE", help: "age identity file that opens encrypted backups"),
    OptionSpec("passphrase-env", value: "NAME", help: "read the passphrase from environment variable NAME"),
    OptionSpec("passphrase-fd", value: "N", help: "read the passphrase from file descriptor N"),
  ]

  static let retention: [OptionSpec] = [
    OptionSpec("keep-last", value: "N", help: "keep the N newest backups"),
    OptionSpec("keep-hourly", value: "N", help: "keep the newest backup of each of the last N hours with backups"),
    OptionSpec("keep-daily", value: "N", help: "keep the newest backup of each of the last N days with backups"),
    OptionSpec("keep-weekly", value: "N", help: "keep the newest backup of each of the last N ISO weeks with backups"),
    OptionSpec("keep-monthly", value: "N", help: "keep the newest backup of each of the last N months with backups"),
    OptionSpec("keep-yearly", value: "N", help: "keep the newest backup of each of the last N years with backups"),
  ]

  static let repository: [OptionSpec] = [
    OptionSpec("repo", short: "r", value: "URL", help: "repository: file:///path or s3://bucket/prefix"),
    OptionSpec("s3-endpoint", value: "URL", help: "S3 endpoint, e.g. http://127.0.0.1:9000 (default: AWS)"),
    OptionSpec("s3-region", value: "REGION", help: "S3 signing region (default: AWS_REGION or us-east-1)"),
    OptionSpec("s3-path-style", help: "use path-style S3 URLs (MinIO and local servers)"),
    OptionSpec("s3-ca-bundle", value: "FILE", help: "CA certificates (PEM) for a private S3 endpoint"),
  ]
}

/// Formats byte counts for people: `10.7 MB`.
func formatBytes(_ bytes: Int64) -> String {
  let units = ["B", "kB", "MB", "GB", "TB"]
  var value = Double(bytes)
  var unit = 0
  while value >= 1000 && unit < units.count - 1 {
    value /= 1000
    unit += 1
  }
  return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}
