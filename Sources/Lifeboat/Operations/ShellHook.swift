import Foundation

/// The outcome of one hook run.
public struct HookResult: Sendable {
  /// The exit status, or nil when the shell was ended by a signal.
  public var exitStatus: Int32?
  public var terminatingSignal: Int32?
  public var timedOut: Bool
  /// True when the run was ended early because lifeboat itself was interrupted.
  public var cancelled: Bool
  public var duration: Double
  /// The last lines the command wrote (stdout and stderr interleaved), for error messages.
  public var lastLines: [String]

  public var succeeded: Bool { exitStatus == 0 && !timedOut && !cancelled }

  /// The outcome in words: `exit status 1`, `timed out after 30 s`.
  public var summary: String {
    if timedOut { return "timed out after \(Int(duration.rounded())) s and was killed" }
    if cancelled { return "was stopped because lifeboat was interrupted" }
    if let terminatingSignal { return "was killed by signal \(terminatingSignal)" }
    return "exit status \(exitStatus ?? -1)"
  }
}

/// A shell command that the restore procedure runs: stop, start or health command.
///
/// The command runs as `/bin/sh -c COMMAND` in a process group of its own, with stdin from
/// /dev/null, no other inherited descriptors, no blocked signals and default signal
/// dispositions (lifeboat ignores SIGINT, SIGTERM and SIGHUP and would otherwise pass that on). Each line it writes to stdout or stderr is logged. When the
/// time limit passes, the whole group gets SIGTERM, then SIGKILL 5 s later.
///
/// lifeboat waits for the shell to exit, not for its output to close, so a start command may
/// leave a daemon running. Such a daemon must not keep writing to the inherited stdout or
/// stderr: once the hook finishes, lifeboat closes its end and later writes fail with EPIPE.
public struct ShellHook: Sendable {
  public var name: String
  public var command: String
  /// Seconds.
  public var timeout: Double
  /// Variables added to lifeboat's own environment for the command.
  public var environment: [String: String]
  /// The level of the lines that carry the command's output.
  public var outputLevel: LogLevel

  /// The maximum number of output lines logged per run; later lines are only counted.
  static let maxLoggedLines = 500

  public init(
    name: String, command: String, timeout: Double, environment: [String: String] = [:],
    outputLevel: LogLevel = .info
  ) {
    self.name = name
    self.command = command
    self.timeout = timeout
    self.environment = environment
    self.outputLevel = outputLevel
  }

  /// Runs the command to completion, until the time limit, or until `isCancelled` returns true.
  ///
  /// - Throws: `SystemError` when the shell cannot be started. A command that fails is not an
  ///   error here; the result reports how it ended.
  public func run(logger: Logger, isCancelled: () -> Bool = { false }) throws -> HookResult {
    let started = Date()
    let output = try SpawnedShell(command: command, environment: environment)
    var collector = OutputCollector(hook: name, level: outputLevel, logger: logger)

    var waitStatus: Int32 = 0
    var timedOut = false
    var cancelled = false
    let deadline = started.addingTimeInterval(timeout)
    while true {
      output.readAvailable(timeoutMilliseconds: 100) { stream, bytes in
        collector.append(bytes, stream: stream)
      }
      if output.poll(status: &waitStatus) { break }
      let overdue = Date() >= deadline
      let interrupted = !overdue && isCancelled()
      if overdue || interrupted {
        timedOut = overdue
        cancelled = interrupted
        waitStatus = output.terminateGroup()
        break
      }
    }
    output.drain { stream, bytes in collector.append(bytes, stream: stream) }
    output.closePipes()
    collector.finish()

    let exited = waitStatus & 0x7f == 0
    return HookResult(
      exitStatus: exited ? (waitStatus >> 8) & 0xff : nil,
      terminatingSignal: exited ? nil : waitStatus & 0x7f, timedOut: timedOut,
      cancelled: cancelled, duration: Date().timeIntervalSince(started),
      lastLines: collector.lastLines)
  }
}

/// Splits a hook's output into lines and logs them, up to `ShellHook.maxLoggedLines`.
private struct OutputCollector {
  let hook: String
  let level: LogLevel
  let logger: Logger
  var partial: [String: [UInt8]] = [:]
  var logged = 0
  var dropped = 0
  var lastLines: [String] = []

  init(hook: String, level: LogLevel, logger: Logger) {
    self.hook = hook
    self.level = level
    self.logger = logger
  }

  mutating func append(_ bytes: [UInt8], stream: String) {
    var buffer = partial[stream, default: []] + bytes
    while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
      emit(Array(buffer[..<newline]), stream: stream)
      buffer.removeSubrange(...newline)
    }
    partial[stream] = buffer
  }

  mutating func finish() {
    for (stream, rest) in partial where !rest.isEmpty { emit(rest, stream: stream) }
    partial = [:]
    if dropped > 0 {
      logger.log(level, "hook output truncated", [
        ("hook", .string(hook)), ("lines_not_logged", .int(Int64(dropped))),
      ])
    }
  }

  private mutating func emit(_ bytes: [UInt8], stream: String) {
    let line = String(decoding: bytes, as: UTF8.self)
    lastLines.append(line)
    if lastLines.count > 5 { lastLines.removeFirst() }
    guard logged < ShellHook.maxLoggedLines else {
      dropped += 1
      return
    }
    logged += 1
    logger.log(level, line, [("hook", .string(hook)), ("stream", .string(stream))])
  }
}

/// `/bin/sh -c COMMAND` started with `posix_spawn`, with its stdout and stderr on pipes.
private final class SpawnedShell {
  let pid: pid_t
  private var pipes: [(stream: String, fd: Int32)]
  private var reaped = false

  init(command: String, environment extra: [String: String]) throws {
    var outPipe: [Int32] = [-1, -1]
    var errPipe: [Int32] = [-1, -1]
    guard pipe(&outPipe) == 0 else { throw SystemError("pipe") }
    guard pipe(&errPipe) == 0 else {
      close(outPipe[0])
      close(outPipe[1])
      throw SystemError("pipe")
    }
    for fd in outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    defer {
      close(outPipe[1])
      close(errPipe[1])
    }

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
    posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
    // Close every other inherited descriptor. A daemon that the start command leaves running
    // would otherwise keep lifeboat's own descriptors open, such as the pipe or socket through
    // which the process that ran lifeboat waits for it to exit.
    for fd in SpawnedShell.openDescriptors() where fd > 2 {
      posix_spawn_file_actions_addclose(&actions, fd)
    }

    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for number in 1..<32 where number != SIGKILL && number != SIGSTOP {
      sigaddset(&defaults, Int32(number))
    }
    var mask = sigset_t()
    sigemptyset(&mask)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setsigmask(&attributes, &mask)
    posix_spawnattr_setpgroup(&attributes, 0)
    posix_spawnattr_setflags(
      &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

    var environment = ProcessInfo.processInfo.environment
    environment.merge(extra) { _, new in new }
    let argumentTexts: [String] = ["/bin/sh", "-c", command]
    let arguments = argumentTexts.map { strdup($0) }
    let variables = environment.map { strdup("\($0.key)=\($0.value)") }
    defer {
      for pointer in arguments + variables { free(pointer) }
    }
    var spawned: pid_t = 0
    let status = posix_spawn(
      &spawned, "/bin/sh", &actions, &attributes, arguments + [nil], variables + [nil])
    guard status == 0 else {
      close(outPipe[0])
      close(errPipe[0])
      throw SystemError("posix_spawn /bin/sh for", path: command, errno: status)
    }
    pid = spawned
    pipes = [("stdout", outPipe[0]), ("stderr", errPipe[0])]
    for (_, fd) in pipes { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
  }

  deinit {
    closePipes()
    if !reaped {
      kill(-pid, SIGKILL)
      var status: Int32 = 0
      waitpid(pid, &status, 0)
    }
  }

  /// Lists the descriptors open in this process, from /proc/self/fd.
  private static func openDescriptors() -> [Int32] {
    let names = (try? directoryEntries(FilePath("/proc/self/fd"))) ?? []
    return names.compactMap { Int32(String(decoding: $0, as: UTF8.self)) }
  }

  /// Waits up to `timeoutMilliseconds` for output and hands over what is there.
  func readAvailable(timeoutMilliseconds: Int32, _ deliver: (String, [UInt8]) -> Void) {
    guard !pipes.isEmpty else {
      usleep(UInt32(timeoutMilliseconds) * 1000)
      return
    }
    var descriptors = pipes.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
    guard Glibc.poll(&descriptors, nfds_t(descriptors.count), timeoutMilliseconds) > 0 else { return }
    drain(deliver)
  }

  /// Reads everything the pipes hold now, without waiting, and closes pipes at end of file.
  func drain(_ deliver: (String, [UInt8]) -> Void) {
    var buffer = [UInt8](repeating: 0, count: 16384)
    var open: [(stream: String, fd: Int32)] = []
    for (stream, fd) in pipes {
      var atEnd = false
      while true {
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count > 0 {
          deliver(stream, Array(buffer[0..<count]))
          continue
        }
        if count < 0 && errno == EINTR { continue }
        atEnd = count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)
        break
      }
      if atEnd { close(fd) } else { open.append((stream, fd)) }
    }
    pipes = open
  }

  func closePipes() {
    for (_, fd) in pipes { close(fd) }
    pipes = []
  }

  /// Reaps the shell if it has exited and returns true, storing its wait status.
  func poll(status: inout Int32) -> Bool {
    guard !reaped else { return true }
    let result = waitpid(pid, &status, WNOHANG)
    if result == pid || (result < 0 && errno == ECHILD) {
      reaped = true
      return true
    }
    return false
  }

  /// Sends SIGTERM to the process group, SIGKILL 5 s later if the shell is still there, and
  /// returns the shell's wait status.
  func terminateGroup() -> Int32 {
    var status: Int32 = 0
    kill(-pid, SIGTERM)
    let deadline = Date().addingTimeInterval(5)
    while Date() < deadline {
      if poll(status: &status) { return status }
      usleep(50_000)
    }
    kill(-pid, SIGKILL)
    waitpid(pid, &status, 0)
    reaped = true
    return status
  }
}
