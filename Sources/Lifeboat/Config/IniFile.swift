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
/// `[section]` headers, `key = value` lines, blank lines, and comments that start with `#` or `;`
/// either on their own line or after a value, preceded by whitespace (`url = file:///x  # note`).
/// A `#` with no space before it is part of the value (`file:///a#b`). A value wrapped in double
/// quotes is taken exactly, spaces and ` #` included. A key may repeat where the setting takes
/// several values.
public enum IniFile {
  public static func parse(_ text: String, file: String) throws -> [IniEntry] {
    var entries: [IniEntry] = []
    var section: String?
    var lineNumber = 0
    // Split on scalars: Swift treats "\r\n" as one Character, so a CRLF file has no "\n" one.
    for rawLine in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false) {
      lineNumber += 1
      let line = String(String.UnicodeScalarView(rawLine))
        .trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r\u{FEFF}")))
      guard !line.unicodeScalars.contains("\0") else {
        throw IniSyntaxError(file: file, line: lineNumber, message: "NUL byte in the line; the file is not text")
      }
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
        // The line is not shown: it may hold a secret.
        throw IniSyntaxError(
          file: file, line: lineNumber, message: "invalid line: expected key = value or a [section] header")
      }
      guard let currentSection = section else {
        throw IniSyntaxError(
          file: file, line: lineNumber,
          message: "key outside any section; put it under a [section] header")
      }
      let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
      let rawValue = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
      let value: String
      if rawValue.hasPrefix("\"") {
        let body = rawValue.dropFirst()
        guard let close = body.firstIndex(of: "\"") else {
          throw IniSyntaxError(
            file: file, line: lineNumber, message: "value of '\(key)' has no closing double quote")
        }
        let rest = body[body.index(after: close)...].trimmingCharacters(in: .whitespaces)
        guard rest.isEmpty || rest.hasPrefix("#") || rest.hasPrefix(";") else {
          throw IniSyntaxError(
            file: file, line: lineNumber,
            message: "unexpected text after the quoted value of '\(key)'; put comments after a space and '#'")
        }
        value = String(body[..<close])
      } else {
        value = stripComment(rawValue)
      }
      guard !key.isEmpty else {
        throw IniSyntaxError(file: file, line: lineNumber, message: "missing key before '='")
      }
      entries.append(IniEntry(section: currentSection, key: key, value: value, line: lineNumber))
    }
    return entries
  }

  /// Cuts a trailing comment: `#` or `;` at the start or after whitespace.
  private static func stripComment(_ text: String) -> String {
    var previous: Character = " "
    for index in text.indices {
      let character = text[index]
      if (character == "#" || character == ";") && previous.isWhitespace {
        return String(text[..<index]).trimmingCharacters(in: .whitespaces)
      }
      previous = character
    }
    return text
  }
}

import Foundation
