/// Validation of archive member names before anything is written.
public enum MemberPath {
  /// Returns the member's path with `.` components and repeated slashes removed, or throws when
  /// the name could land outside the target: absolute, `..` anywhere, empty, or with a NUL byte.
  public static func normalize(_ path: [UInt8]) throws -> [UInt8] {
    let shown = FilePath.display(path)
    guard !path.isEmpty else { throw ExtractionError.unsafeMember(shown, "empty name") }
    guard path.first != UInt8(ascii: "/") else {
      throw ExtractionError.unsafeMember(shown, "absolute path")
    }
    guard !path.contains(0) else { throw ExtractionError.unsafeMember(shown, "NUL byte in name") }
    var components: [[UInt8]] = []
    for component in path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
      if component.elementsEqual([UInt8(ascii: ".")]) { continue }
      if component.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
        throw ExtractionError.unsafeMember(shown, "'..' component")
      }
      components.append(Array(component))
    }
    guard !components.isEmpty else { throw ExtractionError.unsafeMember(shown, "empty name") }
    return Array(components.joined(separator: [UInt8(ascii: "/")]))
  }

  /// True when a symlink at `linkPath` (normalised, relative to the restore root) pointing to
  /// `target` resolves, lexically, to a place inside the root.
  public static func symlinkStaysInside(linkPath: [UInt8], target: [UInt8]) -> Bool {
    guard !target.isEmpty, target.first != UInt8(ascii: "/") else { return false }
    var stack = linkPath.split(separator: UInt8(ascii: "/")).map(Array.init)
    stack.removeLast()
    for component in target.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
      if component.elementsEqual([UInt8(ascii: ".")]) { continue }
      if component.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
        if stack.isEmpty { return false }
        stack.removeLast()
      } else {
        stack.append(Array(component))
      }
    }
    return true
  }
}

/// The reason an archive was not extracted or did not verify.
public enum ExtractionError: Error, CustomStringConvertible {
  case unsafeMember(String, String)
  case notInManifest(String)
  case mismatch(String, String)
  case missing(String)
  case unsupported(String, String)
  /// A symlink whose target lies outside the restored tree: safe data (extraction never follows
  /// a link) that the operator must allow explicitly.
  case externalSymlink(String, String)
  case system(String)

  public var description: String {
    switch self {
    case .unsafeMember(let path, let reason):
      return "unsafe archive member '\(path)' rejected: \(reason)"
    case .notInManifest(let path): return "archive member '\(path)' is not in the manifest"
    case .mismatch(let path, let detail): return "\(path): \(detail)"
    case .missing(let path): return "'\(path)' is in the manifest but missing from the archive"
    case .unsupported(let path, let kind): return "archive member '\(path)' rejected: \(kind) not allowed"
    case .externalSymlink(let path, let target):
      return "archive member '\(path)' is a symlink to '\(target)', outside the restored tree"
    case .system(let message): return message
    }
  }
}
