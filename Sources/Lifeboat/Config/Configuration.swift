import Foundation

/// A setting's value with where it came from.
public struct SettingValue: Sendable, Equatable {
  public var text: String
  public var origin: SettingOrigin
}

/// Settings merged from the config file, `LIFEBOAT_*` environment variables and command-line
/// options, in increasing precedence. A source that sets a key replaces all of that key's values
/// from sources below it, so `--path` on the command line replaces the file's `path` lines.
public struct Configuration: Sendable {
  /// The config file that was read, if any.
  public private(set) var file: String?
  private var values: [String: [SettingValue]] = [:]

  public static let defaultFile = "/etc/lifeboat/lifeboat.conf"

  public init() {}

  /// Loads the configuration.
  ///
  /// - Parameters:
  ///   - file: the `--config` option. When nil, `LIFEBOAT_CONFIG` or the default file is read
  ///     if it exists; an explicitly named file must exist.
  ///   - environment: the process environment.
  ///   - flags: command-line option values by option name (without dashes), in order.
  /// - Throws: `LifeboatError` with code `.configuration`, naming the file, line and key.
  public static func load(
    file: String?, environment: [String: String], flags: [(String, String)]
  ) throws -> Configuration {
    var configuration = Configuration()

    let explicit = file ?? environment["LIFEBOAT_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
    let path = explicit ?? defaultFile
    if explicit != nil || FileManager.default.fileExists(atPath: path) {
      try configuration.read(file: path)
    }

    for spec in SettingsSchema.all {
      let names = [spec.environmentName] + (spec.environmentAlias.map { [$0] } ?? [])
      // An empty variable counts as unset, as shells and systemd's Environment= often leave them.
      guard let name = names.first(where: { !(environment[$0] ?? "").isEmpty }), let text = environment[name]
      else { continue }
      let pieces = spec.repeats ? text.split(separator: ":").map(String.init) : [text]
      configuration.values[spec.name] = pieces.map {
        SettingValue(text: $0, origin: .environment(name))
      }
    }

    var fromFlags: [String: [SettingValue]] = [:]
    for (flag, text) in flags {
      guard let spec = SettingsSchema.spec(flag: flag) else { continue }
      let value = SettingValue(text: text, origin: .flag("--\(flag)"))
      if spec.repeats {
        fromFlags[spec.name, default: []].append(value)
      } else {
        fromFlags[spec.name] = [value]
      }
    }
    configuration.values.merge(fromFlags) { _, new in new }

    try configuration.validate()
    return configuration
  }

  private mutating func read(file path: String) throws {
    var info = stat()
    if stat(path, &info) == 0, info.st_mode & S_IFMT != S_IFREG, info.st_mode & S_IFMT != S_IFCHR {
      throw LifeboatError(
        .configuration, "config file \(path) is not a regular file",
        hint: "pass a config file with --config FILE")
    }
    guard let data = readWholeFile(path) else {
      let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "not found"
      throw LifeboatError(
        .configuration, "config file \(path) \(reason)",
        hint: "pass an existing file with --config FILE, or omit --config to use only options")
    }
    guard let text = String(validating: data, as: UTF8.self) else {
      throw LifeboatError(.configuration, "config file \(path) is not valid UTF-8 text")
    }
    let entries: [IniEntry]
    do {
      entries = try IniFile.parse(text, file: path)
    } catch let error as IniSyntaxError {
      throw LifeboatError(.configuration, error.description)
    }

    // Paths in the file are relative to the file's directory, not to where lifeboat runs.
    let directory = (absolutePath(path) as NSString).deletingLastPathComponent
    var seenSingle: [String: Int] = [:]
    for entry in entries {
      guard let spec = SettingsSchema.spec(section: entry.section, key: entry.key) else {
        throw LifeboatError(
          .configuration,
          "\(path):\(entry.line): unknown key '\(entry.key)' in section [\(entry.section)]",
          hint: Configuration.suggestion(section: entry.section, key: entry.key))
      }
      if !spec.repeats, let first = seenSingle[spec.name] {
        throw LifeboatError(
          .configuration,
          "\(path):\(entry.line): key '\(entry.key)' in [\(entry.section)] is already set on line \(first)",
          hint: "keep one '\(entry.key) = …' line; only repeatable keys may appear more than once")
      }
      seenSingle[spec.name] = entry.line
      var text = entry.value
      if case .path = spec.kind, !text.isEmpty {
        // Sources may carry an archive name, `logs=/var/log/app`: only the path is resolved.
        let source = spec.section == "source" ? SnapshotPlan.parseSource(text) : (name: nil, path: text)
        text = absolutePath(source.path, relativeTo: directory)
        if let name = source.name { text = name + "=" + text }
      }
      values[spec.name, default: []].append(
        SettingValue(text: text, origin: .file(path: path, line: entry.line)))
    }
    file = path
  }

  private static func suggestion(section: String, key: String) -> String {
    let known = SettingsSchema.all.filter { $0.section == section }.map(\.key)
    if known.isEmpty {
      let sections = Set(SettingsSchema.all.map(\.section)).sorted().map { "[\($0)]" }
      return "known sections are \(sections.joined(separator: ", "))"
    }
    if let close = known.min(by: { editDistance($0, key) < editDistance($1, key) }),
      editDistance(close, key) <= 3
    {
      return "did you mean '\(close)'? Keys of [\(section)]: \(known.joined(separator: ", "))"
    }
    return "keys of [\(section)]: \(known.joined(separator: ", "))"
  }

  /// Checks every value against its kind, so a bad value fails before anything starts.
  private func validate() throws {
    for spec in SettingsSchema.all {
      for value in values[spec.name] ?? [] {
        _ = try parse(value, spec)
      }
    }
  }

  // MARK: Typed access

  public func strings(_ name: String) -> [String] { (values[name] ?? []).map(\.text) }

  public func string(_ name: String) -> String? { values[name]?.last?.text }

  public func origin(_ name: String) -> SettingOrigin? { values[name]?.last?.origin }

  public func settingValues(_ name: String) -> [SettingValue] { values[name] ?? [] }

  public func integer(_ name: String) throws -> Int? {
    guard let value = values[name]?.last, let spec = Configuration.spec(name) else { return nil }
    return try parse(value, spec) as? Int
  }

  public func bool(_ name: String) throws -> Bool? {
    guard let value = values[name]?.last, let spec = Configuration.spec(name) else { return nil }
    return try parse(value, spec) as? Bool
  }

  /// Seconds.
  public func duration(_ name: String) throws -> Double? {
    guard let value = values[name]?.last, let spec = Configuration.spec(name) else { return nil }
    return try parse(value, spec) as? Double
  }

  /// Bytes.
  public func size(_ name: String) throws -> Int64? {
    guard let value = values[name]?.last, let spec = Configuration.spec(name) else { return nil }
    return try parse(value, spec) as? Int64
  }

  /// Sets a value from code, such as a default derived at run time.
  public mutating func set(_ name: String, _ text: String, origin: SettingOrigin = .builtIn) {
    values[name] = [SettingValue(text: text, origin: origin)]
  }

  private static func spec(_ name: String) -> SettingSpec? {
    let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
    guard parts.count == 2 else { return nil }
    return SettingsSchema.spec(section: parts[0], key: parts[1])
  }

  private func parse(_ value: SettingValue, _ spec: SettingSpec) throws -> Any {
    func invalid(_ expected: String) -> LifeboatError {
      let secret = ["secret_access_key", "session_token", "smtp_password", "access_key_id"].contains(spec.key)
      let shown = secret ? "" : " '\(value.text)'"
      return LifeboatError(
        .configuration,
        "\(value.origin): invalid value\(shown) for \(spec.key) in [\(spec.section)]: expected \(expected)")
    }
    let text = value.text
    switch spec.kind {
    case .string:
      return text
    case .path:
      guard !text.isEmpty else { throw invalid("a path") }
      return text
    case .bool:
      switch text.lowercased() {
      case "true", "yes", "on", "1": return true
      case "false", "no", "off", "0": return false
      default: throw invalid("true or false")
      }
    case .integer(let range):
      guard let number = Int(text), range.contains(number) else {
        throw invalid("a whole number from \(range.lowerBound) to \(range.upperBound)")
      }
      return number
    case .duration:
      guard let seconds = parseDuration(text) else {
        throw invalid("a duration such as 90s, 15m, 2h or 7d")
      }
      return seconds
    case .size:
      guard let bytes = parseSize(text) else { throw invalid("a size such as 8MiB or 1GiB") }
      return bytes
    case .choice(let options):
      guard options.contains(text) else { throw invalid(options.joined(separator: " or ")) }
      return text
    }
  }
}

/// Parses `90`, `90s`, `15m`, `2h`, `7d` (and `1.5h`) into seconds.
public func parseDuration(_ text: String) -> Double? {
  let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
  guard let last = trimmed.last else { return nil }
  let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800]
  let (number, unit): (Substring, Double) =
    units[last].map { (trimmed.dropLast(), $0) } ?? (Substring(trimmed), 1)
  // Ten years bounds every wait lifeboat has; larger values are typing mistakes.
  guard let value = Double(number), value >= 0, value.isFinite, value * unit <= 315_360_000 else {
    return nil
  }
  return value * unit
}

/// Parses `1048576`, `512KiB`, `64MiB`, `5GiB`, `1TiB` (or `K`, `M`, `G`, `T`, `KB`…; all powers of 2).
public func parseSize(_ text: String) -> Int64? {
  var trimmed = text.trimmingCharacters(in: .whitespaces).uppercased()
  for suffix in ["IB", "B"] where trimmed.hasSuffix(suffix) {
    trimmed.removeLast(suffix.count)
    break
  }
  let units: [Character: Int64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
  var multiplier: Int64 = 1
  if let last = trimmed.last, let unit = units[last] {
    multiplier = unit
    trimmed.removeLast()
  }
  guard let value = Double(trimmed), value >= 0, value * Double(multiplier) < 9e18 else {
    return nil
  }
  return Int64((value * Double(multiplier)).rounded(.up))
}

func editDistance(_ a: String, _ b: String) -> Int {
  let a = Array(a)
  let b = Array(b)
  if a.isEmpty { return b.count }
  if b.isEmpty { return a.count }
  var previous = Array(0...b.count)
  for i in 1...a.count {
    var current = [i] + Array(repeating: 0, count: b.count)
    for j in 1...b.count {
      let cost = a[i - 1] == b[j - 1] ? 0 : 1
      current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
    }
    previous = current
  }
  return previous[b.count]
}
