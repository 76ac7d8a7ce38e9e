import Foundation

/// An AWS shared file (`~/.aws/credentials` or `~/.aws/config`): INI sections of
/// `key = value` settings.
///
/// Indented lines after a key with an empty value are its sub-settings, stored as
/// `parent.child` (`s3 =` then `  addressing_style = path` gives `s3.addressing_style`).
/// Lines starting with `#` or `;` are comments. Keys are lower-cased.
struct AWSSharedConfigFile {
  private(set) var sections: [String: [String: String]] = [:]

  init(text: String) {
    var section: String?
    var parentKey: String?
    for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
      let isIndented = rawLine.first == " " || rawLine.first == "\t"
      let line = rawLine.trimmingCharacters(in: .whitespaces)
      if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
      if line.hasPrefix("[") && line.hasSuffix("]") {
        let name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
        section = name.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        parentKey = nil
        if let section, sections[section] == nil { sections[section] = [:] }
        continue
      }
      guard let section, let equals = line.firstIndex(of: "=") else { continue }
      let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
      let value = Self.stripInlineComment(
        line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces))
      if isIndented, let parentKey {
        sections[section]?["\(parentKey).\(key)"] = value
      } else {
        sections[section]?[key] = value
        parentKey = value.isEmpty ? key : nil
      }
    }
  }

  /// Reads the file at `path`, or returns nil when it does not exist.
  static func load(path: String) throws -> AWSSharedConfigFile? {
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    guard let data = FileManager.default.contents(atPath: path) else {
      throw LifeboatError(.configuration, "cannot read AWS configuration file \(path)")
    }
    return AWSSharedConfigFile(text: String(decoding: data, as: UTF8.self))
  }

  /// Returns the settings of profile `name` in a credentials file, where sections are named
  /// after profiles.
  func credentialsProfile(_ name: String) -> [String: String]? {
    sections[name]
  }

  /// Returns the settings of profile `name` in a config file, where sections are
  /// `[profile name]` except `[default]`.
  func configProfile(_ name: String) -> [String: String]? {
    if let section = sections["profile \(name)"] { return section }
    return name == "default" ? sections["default"] : nil
  }

  /// Returns the settings of `[services name]` in a config file.
  func servicesSection(_ name: String) -> [String: String]? {
    sections["services \(name)"]
  }

  /// Drops a ` #` or ` ;` comment after a value, as the AWS CLI does.
  private static func stripInlineComment(_ value: String) -> String {
    for marker in [" #", " ;", "\t#", "\t;"] {
      if let range = value.range(of: marker) {
        return value[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
      }
    }
    return value
  }
}
