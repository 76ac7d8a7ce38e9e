/// The type of a setting's value, which decides how it is parsed and checked.
public enum SettingKind: Sendable {
  case string
  case path
  case bool
  case integer(ClosedRange<Int>)
  /// Seconds, written `90`, `90s`, `15m`, `2h` or `7d`.
  case duration
  /// Bytes, written `1048576`, `512KiB`, `64MiB`, `5GiB` (or `K`, `M`, `G`, `T`, all powers of 2).
  case size
  case choice([String])
}

/// The source of a setting's value, for error messages.
public enum SettingOrigin: Sendable, CustomStringConvertible, Equatable {
  case file(path: String, line: Int)
  case environment(String)
  case flag(String)
  case builtIn

  public var description: String {
    switch self {
    case .file(let path, let line): return "\(path):\(line)"
    case .environment(let name): return "environment variable \(name)"
    case .flag(let name): return "option \(name)"
    case .builtIn: return "built-in default"
    }
  }
}

/// One setting that the config file, the environment and the command line can set.
public struct SettingSpec: Sendable {
  public var section: String
  public var key: String
  public var kind: SettingKind
  /// True when the key may repeat and each occurrence adds a value.
  public var repeats: Bool
  /// The command-line option, without leading dashes, where there is one.
  public var flag: String?
  public var help: String
  /// A second environment variable for the setting, read when `environmentName` is unset.
  public var environmentAlias: String? = nil

  public var name: String { "\(section).\(key)" }
  /// `LIFEBOAT_<SECTION>_<KEY>`; repeated settings take a `:`-separated list there, as PATH does.
  public var environmentName: String {
    "LIFEBOAT_\(section.uppercased())_\(key.uppercased())"
  }
}

/// Every setting lifeboat accepts. The config file may contain only these keys.
public enum SettingsSchema {
  public static let all: [SettingSpec] = [
    SettingSpec(
      section: "source", key: "database", kind: .path, repeats: true, flag: "db",
      help: "SQLite database to copy with the online backup API (repeatable)"),
    SettingSpec(
      section: "source", key: "path", kind: .path, repeats: true, flag: "path",
      help: "directory tree to archive, such as the config or log tree (repeatable)"),
    SettingSpec(
      section: "source", key: "exclude", kind: .string, repeats: true, flag: "exclude",
      help: "glob of paths to leave out: '*.tmp' matches names, 'logs/cache/**' paths (repeatable)"),
    SettingSpec(
      section: "source", key: "one_file_system", kind: .bool, repeats: false,
      flag: "one-file-system", help: "do not cross into other mounted file systems"),

    SettingSpec(
      section: "repository", key: "url", kind: .string, repeats: false, flag: "repo",
      help: "where backups are stored: file:///path or s3://bucket/prefix"),

    SettingSpec(
      section: "backup", key: "compression", kind: .choice(["gzip", "zstd"]), repeats: false,
      flag: "compression", help: "archive format: gzip (.tar.gz, default) or zstd (.tar.zst)"),
    SettingSpec(
      section: "backup", key: "compression_level", kind: .integer(1...19), repeats: false,
      flag: "compression-level", help: "gzip 1-9 (default 6), zstd 1-19 (default 3)"),
    SettingSpec(
      section: "backup", key: "threads", kind: .integer(1...256), repeats: false,
      flag: "threads", help: "compression threads (default: the number of cores)"),
    SettingSpec(
      section: "backup", key: "spool_dir", kind: .path, repeats: false, flag: "spool-dir",
      help: "directory for the temporary database copy (default: $TMPDIR or /var/tmp)"),
    SettingSpec(
      section: "backup", key: "busy_timeout", kind: .duration, repeats: false,
      flag: "busy-timeout",
      help: "how long to wait for a database lock held by the application (default 120s)"),
    SettingSpec(
      section: "backup", key: "host", kind: .string, repeats: false, flag: "host",
      help: "host name recorded in backup ids (default: this machine's name)"),

    SettingSpec(
      section: "encryption", key: "recipient", kind: .string, repeats: true, flag: "recipient",
      help: "age1... public key new backups are encrypted to (repeatable: add an offline key)"),
    SettingSpec(
      section: "encryption", key: "identity_file", kind: .path, repeats: false, flag: "identity",
      help: "age identity file (AGE-SECRET-KEY-1... lines) that opens encrypted backups"),
    SettingSpec(
      section: "encryption", key: "passphrase_env", kind: .string, repeats: false,
      flag: "passphrase-env",
      help: "name of the environment variable holding the passphrase (age scrypt mode)"),
    SettingSpec(
      section: "encryption", key: "passphrase_fd", kind: .integer(0...65535), repeats: false,
      flag: "passphrase-fd", help: "file descriptor to read the passphrase from (age scrypt mode)"),
    SettingSpec(
      section: "encryption", key: "scrypt_work_factor", kind: .integer(10...22), repeats: false,
      flag: nil, help: "log2 of scrypt's N for passphrase backups (default 18, as age; 22 is the maximum)"),

    SettingSpec(
      section: "s3", key: "endpoint", kind: .string, repeats: false, flag: "s3-endpoint",
      help: "S3 endpoint URL, e.g. https://s3.eu-west-1.amazonaws.com (default: AWS)"),
    SettingSpec(
      section: "s3", key: "region", kind: .string, repeats: false, flag: "s3-region",
      help: "region for signing (default: AWS_REGION, else us-east-1)"),
    SettingSpec(
      section: "s3", key: "access_key_id", kind: .string, repeats: false, flag: nil,
      help: "access key id (default: AWS_ACCESS_KEY_ID or the AWS profile)"),
    SettingSpec(
      section: "s3", key: "secret_access_key", kind: .string, repeats: false, flag: nil,
      help: "secret access key; prefer the environment or an AWS profile to a file"),
    SettingSpec(
      section: "s3", key: "session_token", kind: .string, repeats: false, flag: nil,
      help: "session token of temporary credentials"),
    SettingSpec(
      section: "s3", key: "path_style", kind: .bool, repeats: false, flag: "s3-path-style",
      help: "address buckets as endpoint/bucket/key (MinIO, local servers) instead of bucket.endpoint"),
    SettingSpec(
      section: "s3", key: "ca_bundle", kind: .path, repeats: false, flag: "s3-ca-bundle",
      help: "PEM file of CA certificates for a private endpoint (TLS is always verified)"),
    SettingSpec(
      section: "s3", key: "part_size", kind: .size, repeats: false, flag: "part-size",
      help: "multipart part size, at least 5MiB; raised automatically to stay within 10,000 parts"),
    SettingSpec(
      section: "s3", key: "parts_in_flight", kind: .integer(1...64), repeats: false,
      flag: "parts-in-flight", help: "parts uploaded at once (memory: parts x part size)"),
    SettingSpec(
      section: "s3", key: "max_attempts", kind: .integer(1...20), repeats: false, flag: nil,
      help: "attempts per request before giving up (default 5)"),
    SettingSpec(
      section: "s3", key: "storage_class", kind: .string, repeats: false, flag: nil,
      help: "storage class of uploaded objects, e.g. STANDARD_IA"),
    SettingSpec(
      section: "s3", key: "sse", kind: .choice(["AES256", "aws:kms"]), repeats: false, flag: nil,
      help: "server-side encryption: AES256 or aws:kms"),
    SettingSpec(
      section: "s3", key: "sse_kms_key_id", kind: .string, repeats: false, flag: nil,
      help: "KMS key id when sse = aws:kms"),

    SettingSpec(
      section: "retention", key: "keep_last", kind: .integer(0...1_000_000), repeats: false,
      flag: "keep-last", help: "prune keeps the N newest backups (0: rule off)"),
    SettingSpec(
      section: "retention", key: "keep_hourly", kind: .integer(0...1_000_000), repeats: false,
      flag: "keep-hourly", help: "prune keeps the newest backup of each of the last N hours that have one"),
    SettingSpec(
      section: "retention", key: "keep_daily", kind: .integer(0...1_000_000), repeats: false,
      flag: "keep-daily", help: "prune keeps the newest backup of each of the last N days (UTC) that have one"),
    SettingSpec(
      section: "retention", key: "keep_weekly", kind: .integer(0...1_000_000), repeats: false,
      flag: "keep-weekly", help: "prune keeps the newest backup of each of the last N ISO weeks that have one"),
    SettingSpec(
      section: "retention", key: "keep_monthly", kind: .integer(0...1_000_000), repeats: false,
      flag: "keep-monthly", help: "prune keeps the newest backup of each of the last N months that have one"),
    SettingSpec(
      section: "retention", key: "keep_yearly", kind: .integer(0...1_000_000), repeats: false,
      flag: "keep-yearly", help: "prune keeps the newest backup of each of the last N years that have one"),

    SettingSpec(
      section: "lock", key: "stale_after", kind: .duration, repeats: false, flag: nil,
      help: "a repository lock not refreshed for this long belongs to a dead run and is taken over (default 1h)"),
    SettingSpec(
      section: "lock", key: "directory", kind: .path, repeats: false, flag: nil,
      help: "directory of the local lock files (default /run/lock/lifeboat, else one under $TMPDIR)"),

    SettingSpec(
      section: "metrics", key: "file", kind: .path, repeats: false, flag: "metrics-file",
      help: "Prometheus textfile that backup, verify and prune update (node_exporter textfile collector)"),

    SettingSpec(
      section: "health", key: "max_age", kind: .duration, repeats: false, flag: "max-age",
      help: "'lifeboat health' is unhealthy when the newest complete backup is older (default 26h)"),
    SettingSpec(
      section: "health", key: "min_free_space", kind: .size, repeats: false, flag: nil,
      help: "'lifeboat health' is degraded when the spool directory has less free space"),
    SettingSpec(
      section: "health", key: "lock_file", kind: .path, repeats: false, flag: nil,
      help: "lock file that backup runs hold, which 'lifeboat health' inspects (default: not checked)"),

    SettingSpec(
      section: "alert", key: "on", kind: .string, repeats: false, flag: nil,
      help: "outcomes that send an alert: failure, partial, warnings, success (default failure)"),
    SettingSpec(
      section: "alert", key: "webhook_url", kind: .string, repeats: false, flag: nil,
      help: "URL that receives a JSON POST per alert (Slack-compatible 'text' field)"),
    SettingSpec(
      section: "alert", key: "smtp_url", kind: .string, repeats: false, flag: nil,
      help: "mail server for alert email: smtp://host:port, or smtps:// for TLS from the start"),
    SettingSpec(
      section: "alert", key: "smtp_from", kind: .string, repeats: false, flag: nil,
      help: "sender address of alert email"),
    SettingSpec(
      section: "alert", key: "smtp_to", kind: .string, repeats: true, flag: nil,
      help: "recipient address of alert email (repeatable)"),
    SettingSpec(
      section: "alert", key: "smtp_user", kind: .string, repeats: false, flag: nil,
      help: "user name for SMTP authentication"),
    SettingSpec(
      section: "alert", key: "smtp_password", kind: .string, repeats: false, flag: nil,
      help: "password for SMTP authentication; redacted from all output"),
    SettingSpec(
      section: "alert", key: "smtp_tls", kind: .choice(["try", "require", "off"]), repeats: false,
      flag: nil, help: "STARTTLS on smtp:// URLs: try (default), require, or off"),
    SettingSpec(
      section: "alert", key: "min_interval", kind: .duration, repeats: false, flag: nil,
      help: "send at most one alert per command and outcome in this time (default 1h)"),
    SettingSpec(
      section: "alert", key: "state_dir", kind: .path, repeats: false, flag: nil,
      help: "directory of the alert rate-limit state (default /var/lib/lifeboat, else $TMPDIR)"),

    SettingSpec(
      section: "faults", key: "inject", kind: .string, repeats: false, flag: nil,
      help: "drills only: fail a share of calls on purpose, e.g. put:0.1,get:0.05,read:0.01,seed:42",
      environmentAlias: "LIFEBOAT_FAULTS"),

    SettingSpec(
      section: "restore", key: "stop_command", kind: .string, repeats: false,
      flag: "stop-command",
      help: "shell command that stops the application before an in-place restore; must return once it has exited"),
    SettingSpec(
      section: "restore", key: "start_command", kind: .string, repeats: false,
      flag: "start-command",
      help: "shell command that starts the application after an in-place restore or a rollback"),
    SettingSpec(
      section: "restore", key: "health_command", kind: .string, repeats: false,
      flag: "health-command", help: "shell command that exits 0 once the restored application is healthy"),
    SettingSpec(
      section: "restore", key: "health_url", kind: .string, repeats: false, flag: "health-url",
      help: "URL that must respond 2xx, without a JSON \"status\": \"unhealthy\", once the application is healthy"),
    SettingSpec(
      section: "restore", key: "health_timeout", kind: .duration, repeats: false,
      flag: "health-timeout", help: "how long to retry the health check after the start command (default 60s)"),
    SettingSpec(
      section: "restore", key: "hook_timeout", kind: .duration, repeats: false,
      flag: "hook-timeout",
      help: "time limit for each stop, start or health command; it is then killed (default 120s)"),
    SettingSpec(
      section: "restore", key: "rollback_dir", kind: .path, repeats: false, flag: "rollback-dir",
      help: "where the replaced files are moved; must be on the same file system as every destination (default: a hidden directory beside each)"),
    SettingSpec(
      section: "restore", key: "keep_rollback", kind: .bool, repeats: false, flag: nil,
      help: "keep the replaced files after a successful restore (default true); false deletes them"),

    SettingSpec(
      section: "log", key: "format", kind: .choice(["auto", "text", "json"]), repeats: false,
      flag: "log-format", help: "text (default), json (one object a line), or auto: json unless on a terminal"),
    SettingSpec(
      section: "log", key: "level",
      kind: .choice(["trace", "debug", "info", "notice", "warning", "error"]), repeats: false,
      flag: "log-level",
      help: "minimum level shown (default: info on a terminal, warning otherwise)"),
    SettingSpec(
      section: "log", key: "file", kind: .path, repeats: false, flag: "log-file",
      help: "also append JSON log lines to this file, rotated at 10 MiB"),
  ]

  public static func spec(section: String, key: String) -> SettingSpec? {
    all.first { $0.section == section && $0.key == key }
  }

  public static func spec(flag: String) -> SettingSpec? {
    all.first { $0.flag == flag }
  }
}
