import Foundation
import Lifeboat

/// A description of every entry below a directory: type, mode, SHA-256 of regular files and
/// targets of symlinks. Two equal digests mean the trees hold the same data.
///
/// SQLite's `-shm` files are left out: they are a shared-memory index that SQLite rebuilds,
/// and their bytes differ between two openings of the same database.
enum StateDigest {
  static func of(_ root: String, skipping skipped: (String) -> Bool = { _ in false }) throws -> [String: String] {
    var result: [String: String] = [:]
    try walk(root, relative: "", into: &result, skipping: skipped)
    return result
  }

  private static func walk(
    _ path: String, relative: String, into result: inout [String: String], skipping skipped: (String) -> Bool
  ) throws {
    for name in try FileManager.default.contentsOfDirectory(atPath: path).sorted() {
      let child = path + "/" + name
      let key = relative.isEmpty ? name : relative + "/" + name
      if name.hasSuffix("-shm") || skipped(key) { continue }
      var info = stat()
      guard lstat(child, &info) == 0 else { throw TestFailure("lstat \(child) failed") }
      let mode = String(info.st_mode & 0o7777, radix: 8)
      switch info.st_mode & S_IFMT {
      case S_IFDIR:
        result[key] = "directory \(mode)"
        try walk(child, relative: key, into: &result, skipping: skipped)
      case S_IFLNK:
        result[key] = "symlink " + (try FileManager.default.destinationOfSymbolicLink(atPath: child))
      case S_IFREG:
        let data = try Data(contentsOf: URL(fileURLWithPath: child))
        result[key] = "file \(mode) " + SHA256Hasher.hash([UInt8](data)).hexString
      default:
        result[key] = "other \(info.st_mode)"
      }
    }
  }

  /// The keys whose values differ, for failure messages.
  static func differences(_ left: [String: String], _ right: [String: String]) -> [String] {
    Set(left.keys).union(right.keys).sorted().filter { left[$0] != right[$0] }.map {
      "\($0): \(left[$0] ?? "missing") vs \(right[$0] ?? "missing")"
    }
  }
}
