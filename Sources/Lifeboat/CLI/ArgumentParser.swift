/// One option a command accepts.
public struct OptionSpec: Sendable {
  public var name: String
  public var short: Character?
  /// The value's placeholder in help (`FILE`, `N`), or nil for a flag.
  public var valueName: String?
  public var repeats: Bool
  public var help: String

  public init(_ name: String, short: Character? = nil, value: String? = nil, repeats: Bool = false, help: String) {
    self.name = name
    self.short = short
    self.valueName = value
    self.repeats = repeats
    self.help = help
  }
}

/// The parsed command line of one command.
public struct ParsedArguments: Sendable {
  /// Option values in command-line order; flags have the value `true`.
  public var options: [(String, String)] = []
  public var positionals: [String] = []

  public func has(_ name: String) -> Bool { options.contains { $0.0 == name } }
  public func value(_ name: String) -> String? { options.last { $0.0 == name }?.1 }
  public func values(_ name: String) -> [String] { options.filter { $0.0 == name }.map(\.1) }
}

/// A command-line mistake: printed as one line plus the usage, exit status 64.
public struct UsageError: Error, CustomStringConvertible {
  public var message: String
  public var description: String { message }
}

/// Parses `--name value`, `--name=value`, `-x value`, flags and positionals. `--` ends options.
public enum ArgumentParser {
  public static func parse(_ arguments: [String], options specs: [OptionSpec], maxPositionals: Int)
    throws -> ParsedArguments
  {
    var parsed = ParsedArguments()
    var index = 0
    var onlyPositionals = false
    while index < arguments.count {
      let argument = arguments[index]
      index += 1
      if onlyPositionals || !argument.hasPrefix("-") || argument == "-" {
        parsed.positionals.append(argument)
        continue
      }
      if argument == "--" {
        onlyPositionals = true
        continue
      }

      var name: String
      var inlineValue: String?
      if argument.hasPrefix("--") {
        let body = argument.dropFirst(2)
        if let equals = body.firstIndex(of: "=") {
          name = String(body[..<equals])
          inlineValue = String(body[body.index(after: equals)...])
        } else {
          name = String(body)
        }
      } else {
        guard argument.count == 2, let spec = specs.first(where: { $0.short == argument.last }) else {
          throw UsageError(message: "unknown option '\(argument)'")
        }
        name = spec.name
      }
      guard let spec = specs.first(where: { $0.name == name }) else {
        let suggestion = specs.map(\.name).min { editDistance($0, name) < editDistance($1, name) }
        let hint = suggestion.flatMap { editDistance($0, name) <= 2 ? " (did you mean '--\($0)'?)" : nil } ?? ""
        throw UsageError(message: "unknown option '--\(name)'\(hint)")
      }

      if spec.valueName == nil {
        guard inlineValue == nil else {
          throw UsageError(message: "option '--\(name)' takes no value")
        }
        parsed.options.append((name, "true"))
        continue
      }
      let value: String
      if let inlineValue {
        value = inlineValue
      } else {
        guard index < arguments.count else {
          throw UsageError(message: "option '--\(name)' needs a value (\(spec.valueName!))")
        }
        value = arguments[index]
        index += 1
      }
      if !spec.repeats, parsed.has(name) {
        throw UsageError(message: "option '--\(name)' given more than once")
      }
      parsed.options.append((name, value))
    }
    if parsed.positionals.count > maxPositionals {
      let extra = parsed.positionals[maxPositionals]
      throw UsageError(message: "unexpected argument '\(extra)'")
    }
    return parsed
  }
}
