import Foundation

/// The `lifeboat` command: picks the subcommand, runs it and maps every error to an exit status.
public enum CommandLineTool {
  static let commands: [Command] = [
    .backup, .list, .restore, .verify, .keygen, .prune, .unlock, .share, .health, .version,
  ]

  static let overview = """
    lifeboat: backup and disaster recovery for a SQLite application, its config and logs.

    usage: lifeboat <command> [options]

    commands:
      backup     take a backup: online database copy, config and log trees, one archive
      list       list the backups in the repository
      restore    restore a backup into a directory after verifying it
      verify     re-read backups and check every checksum and the database's integrity
      prune      delete the backups a retention policy does not keep, and leftovers
      unlock     remove the repository lock of a run that is gone
      share      print a presigned URL to download a backup from S3 without credentials
      health     check storage, backup age, lock, spool space; exit 0, 1 or 2
      keygen     make an age identity for encrypted backups and print its public key
      version    print the version
      help       show help for a command: lifeboat help <command>

    exit status:
      0   success
      1   failure
      2   backup stored with warnings (files changed, vanished or unreadable; listed)
      3   restore failed and its rollback failed too: operator action needed
      64  usage error (unknown option, missing argument)
      65  damaged data: checksum mismatch, bad manifest, database integrity check failed
      69  storage unavailable (unreachable, missing bucket, circuit breaker open)
      75  temporary failure: lock held by another run, database locked; retry later
      77  storage rejected the credentials
      78  invalid configuration
      130 interrupted
    Treat any other non-zero status as failure.

    Run 'lifeboat help <command>' or 'lifeboat <command> --help' for its options and examples.
    """

  /// Runs the command line and returns the process exit status.
  public static func run(arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment)
    -> Int32
  {
    umask(0o077)
    installSignalHandlers()
    defer {
      TemporaryFiles.removeAll()
      ExitActions.runAll()
    }

    guard let first = arguments.first else {
      FileHandle.standardError.write(Data((overview + "\n").utf8))
      return LifeboatError.Code.usage.rawValue
    }
    if first == "help" || first == "--help" || first == "-h" {
      if arguments.count > 1 {
        guard let command = commands.first(where: { $0.name == arguments[1] }) else {
          return usageFailure("unknown command '\(arguments[1])'", usage: overview)
        }
        printOut(command.help)
      } else {
        printOut(overview)
      }
      return 0
    }
    if first == "--version" { return run(arguments: ["version"], environment: environment) }
    guard let command = commands.first(where: { $0.name == first }) else {
      return usageFailure("unknown command '\(first)'", usage: overview)
    }

    let rest = Array(arguments.dropFirst())
    if rest.contains("--help") || rest.contains("-h") {
      printOut(command.help)
      return 0
    }
    let parsed: ParsedArguments
    do {
      parsed = try ArgumentParser.parse(rest, options: command.options, maxPositionals: command.maxPositionals)
    } catch let error as UsageError {
      return usageFailure(error.message, usage: "usage: \(command.usage)\nRun 'lifeboat \(command.name) --help' for options.")
    } catch {
      return usageFailure("\(error)", usage: command.usage)
    }

    let context = CommandContext(
      arguments: parsed, environment: environment, output: .standardOutput, command: command.name)
    let status: Int32
    var failure: LifeboatError?
    do {
      status = try command.run(context)
    } catch let error as UsageError {
      failure = LifeboatError(.usage, error.message)
      status = usageFailure(error.message, usage: "usage: \(command.usage)\nRun 'lifeboat \(command.name) --help' for options.")
    } catch {
      let operatorFailure = operatorError(error)
      report(operatorFailure, logger: context.logger)
      failure = operatorFailure
      status = operatorFailure.code.rawValue
    }
    if command.isMonitored { context.finishRun(exitCode: status, error: failure) }
    return status
  }

  /// Turns any error into the operator-facing form.
  static func operatorError(_ error: Error) -> LifeboatError {
    switch error {
    case let error as LifeboatError:
      return error
    case let error as KeyRequiredError:
      return error.keyError
    case StorageError.accessDenied(let location, let reason):
      return LifeboatError(
        .permissionDenied, "storage \(location) rejected the credentials: \(reason)",
        hint: "check the access key and secret (config [s3], AWS_* variables or the AWS profile)")
    case StorageError.unavailable(let location, let reason):
      return LifeboatError(.unavailable, "storage \(location) unavailable: \(reason)",
        hint: "check the endpoint and network, then run again")
    case StorageError.notFound(let key):
      return LifeboatError(.failure, "object \(key) not found in the repository")
    case let error as StorageError:
      return LifeboatError(.failure, error.description)
    case let error as SQLiteError:
      return LifeboatError(.failure, "SQLite error: \(error)")
    case let error as SystemError:
      return LifeboatError(.failure, error.description)
    default:
      return LifeboatError(.failure, "\(error)")
    }
  }

  /// Prints an operator-facing error as `error:`/`hint:` lines, or as a JSON log record.
  static func report(_ error: LifeboatError, logger: Logger) {
    var fields: [(String, LogValue)] = [("exit_code", .int(Int64(error.code.rawValue)))]
    if let hint = error.hint { fields.append(("hint", .string(hint))) }
    if logger.format == .json || (logger.format == .auto && isatty(STDERR_FILENO) == 0) {
      logger.log(.error, error.message, fields)
      return
    }
    // The terminal gets the two-line form below; the log file still records the error.
    logger.log(.error, error.message, fields, fileOnly: true)
    var text = "error: \(Redaction.redact(error.message))\n"
    if let hint = error.hint { text += "hint: \(Redaction.redact(hint))\n" }
    FileHandle.standardError.write(Data(text.utf8))
  }

  private static func usageFailure(_ message: String, usage: String) -> Int32 {
    FileHandle.standardError.write(Data("error: \(message)\n\(usage)\n".utf8))
    return LifeboatError.Code.usage.rawValue
  }

  private static func printOut(_ text: String) {
    FileHandle.standardOutput.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
  }

  nonisolated(unsafe) private static var signalSources: [DispatchSourceSignal] = []

  /// On SIGINT, SIGTERM or SIGHUP, deletes temporary files (database copies, partial objects),
  /// runs the exit actions (releasing the repository lock) and exits with 128 + the signal
  /// number. Inside `Interruption.deferSignals` the signal is only recorded, so an in-place
  /// restore can roll back before it exits.
  private static func installSignalHandlers() {
    guard signalSources.isEmpty else { return }
    for number in [SIGINT, SIGTERM, SIGHUP] {
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
      source.setEventHandler {
        if Interruption.record(number) {
          FileHandle.standardError.write(Data(
            "warning: signal \(number) received; the restore stops after the current step and undoes its changes\n".utf8))
          return
        }
        TemporaryFiles.removeAll()
        ExitActions.runAll()
        let note = ExitActions.interruptionNote.map { "; \($0)" } ?? ""
        FileHandle.standardError.write(Data("error: interrupted by signal \(number)\(note)\n".utf8))
        _exit(128 + number)
      }
      source.resume()
      signalSources.append(source)
    }
  }
}

extension Command {
  static let version = Command(
    name: "version",
    summary: "Print lifeboat's version and the versions of the libraries it uses.",
    usage: "lifeboat version",
    options: [OptionSpec("help", short: "h", help: "show this help")],
    maxPositionals: 0,
    examples: ["lifeboat version", "lifeboat --version"],
    details: nil,
    run: { context in
      context.print("lifeboat \(LifeboatVersion.current)")
      context.print(LibraryVersions.summary)
      return 0
    })
}
