/// One `key = value` line of an INI file, with where it came from.
public struct IniEntry: Sendable, Equatable {
  public var section: String
  public var key: String
  public var value: String
  public var line: Int
}

/// A parse failure that names the file and line.
public struct IniSyntaxError: Error, CustomStringConvertible {
  public var file: String
  public var line: Int
  public var message: String
  public var description: String { "\(file):\(line): \(message)" }
}

/// Parses the small INI dialect of lifeboat's config file.
///
/// `[section]` headers, `key = value` lines, `#` or `;` comments on their own line, blank lines.
/// Values are taken verbatim after trimming surrounding whitespace, so a `#` inside a value is
/// part of it; a value may be wrapped in double quotes to keep leading or trailing spaces.
/// A key may repeat where the setting takes several values.
public enum IniFile {
  public static func parse(_ text: String, file: String) throws -> [IniEntry] {
    var entries: [IniEntry] = []
    var section: String?
    var lineNumber = 0
    for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
      lineNumber += 1
      let line = rawLine.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r")))
      if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }

      if line.hasPrefix("[") {
        guard line.hasSuffix("]"), line.count > 2 else {
          throw IniSyntaxError(
            file: file, line: lineNumber, message: "invalid section header '\(line)'; expected [name]")
        }
        section = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
          .lowercased()
        continue
      }

      guard let equals = line.firstIndex(of: "=") else {
        throw IniSyntaxError(
          file: file, line: lineNumber, message: "invalid line '\(line)'; expected key = value")
      }
      guard let currentSection = section else {
        throw IniSyntaxError(
          file: file, line: lineNumber,
          message: "key outside any section; put it under a [section] header")
      }
      let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
      var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
      if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
        value = String(value.dropFirst().dropLast())
      }
      guard !key.isEmpty else {
        throw IniSyntaxError(file: file, line: lineNumber, message: "missing key before '='")
      }
      entries.append(IniEntry(section: currentSection, key: key, value: value, line: lineNumber))
    }
    return entries
  }
}

import Foundation
