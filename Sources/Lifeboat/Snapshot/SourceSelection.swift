import Foundation

/// Decides which paths of a source tree are archived.
public struct SourceSelection: Sendable {
  /// Glob patterns. A pattern without `/` matches a file name anywhere; one with `/` matches the
  /// archive path (`logs/cache/x`) as a whole, where `*` and `**` both cross `/`.
  public var excludes: [String]
  /// Absolute paths to leave out of trees: databases, which are copied through the backup API,
  /// with their `-wal`, `-shm` and `-journal` files.
  public var excludedPaths: Set<FilePath>
  public var oneFileSystem: Bool

  public init(excludes: [String], databases: [String], oneFileSystem: Bool) {
    self.excludes = excludes
    var paths = Set<FilePath>()
    for database in databases {
      for suffix in ["", "-wal", "-shm", "-journal"] { paths.insert(FilePath(database + suffix)) }
    }
    self.excludedPaths = paths
    self.oneFileSystem = oneFileSystem
  }

  /// Returns the pattern that excludes `archivePath`, if one does.
  public func excludingPattern(archivePath: [UInt8], absolutePath: FilePath) -> String? {
    if excludedPaths.contains(absolutePath) { return "database file" }
    let name = FilePath(bytes: archivePath).lastComponent
    for pattern in excludes {
      if pattern.contains("/") {
        let flattened = pattern.replacingOccurrences(of: "**", with: "*")
        let trimmed = flattened.hasPrefix("/") ? String(flattened.dropFirst()) : flattened
        if globMatches(trimmed, archivePath) { return pattern }
        // `dir/**` also excludes `dir` itself, so the walk does not descend into it.
        if trimmed.hasSuffix("/*"), globMatches(String(trimmed.dropLast(2)), archivePath) {
          return pattern
        }
      } else if globMatches(pattern, name) {
        return pattern
      }
    }
    return nil
  }

  private func globMatches(_ pattern: String, _ bytes: [UInt8]) -> Bool {
    FilePath(bytes: bytes).withCString { name in fnmatch(pattern, name, 0) == 0 }
  }
}
