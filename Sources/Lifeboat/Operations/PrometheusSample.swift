import Foundation

/// One line of the Prometheus text format: `name{label="value",…} value`.
struct PrometheusSample: Equatable {
  var name: String
  var labels: [(String, String)]
  var value: String

  init(name: String, labels: [(String, String)], value: String) {
    self.name = name
    self.labels = labels
    self.value = value
  }

  static func == (lhs: PrometheusSample, rhs: PrometheusSample) -> Bool {
    lhs.name == rhs.name && lhs.labelText == rhs.labelText && lhs.value == rhs.value
  }

  func label(_ key: String) -> String? { labels.first { $0.0 == key }?.1 }

  /// `{command="backup",verb="put"}`, or "" without labels.
  var labelText: String {
    guard !labels.isEmpty else { return "" }
    let pairs = labels.map { key, value -> String in
      let escaped = value.replacingOccurrences(of: "\\", with: "\\\\")
        .replacingOccurrences(of: "\"", with: "\\\"")
        .replacingOccurrences(of: "\n", with: "\\n")
      return "\(key)=\"\(escaped)\""
    }
    return "{" + pairs.joined(separator: ",") + "}"
  }

  var line: String { "\(name)\(labelText) \(value)" }

  /// Parses one sample line, or returns nil for anything else. A timestamp after the value is
  /// dropped.
  init?(line: String) {
    let characters = Array(line)
    var index = 0
    func isNameCharacter(_ character: Character) -> Bool {
      character.isASCII && (character.isLetter || character.isNumber || character == "_" || character == ":")
    }
    while index < characters.count, isNameCharacter(characters[index]) { index += 1 }
    guard index > 0 else { return nil }
    name = String(characters[0..<index])
    labels = []

    if index < characters.count, characters[index] == "{" {
      index += 1
      while index < characters.count, characters[index] != "}" {
        let keyStart = index
        while index < characters.count, isNameCharacter(characters[index]) { index += 1 }
        let key = String(characters[keyStart..<index])
        guard !key.isEmpty, index + 1 < characters.count, characters[index] == "=",
          characters[index + 1] == "\""
        else { return nil }
        index += 2
        var value = ""
        while index < characters.count, characters[index] != "\"" {
          if characters[index] == "\\", index + 1 < characters.count {
            index += 1
            value.append(characters[index] == "n" ? "\n" : characters[index])
          } else {
            value.append(characters[index])
          }
          index += 1
        }
        guard index < characters.count else { return nil }
        index += 1
        labels.append((key, value))
        if index < characters.count, characters[index] == "," { index += 1 }
      }
      guard index < characters.count else { return nil }
      index += 1
    }

    let rest = String(characters[index...]).split(separator: " ", omittingEmptySubsequences: true)
    guard let first = rest.first, Double(first) != nil || ["NaN", "+Inf", "-Inf"].contains(String(first))
    else { return nil }
    value = String(first)
  }
}
