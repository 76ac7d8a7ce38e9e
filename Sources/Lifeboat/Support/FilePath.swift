import Foundation

/// A file path as the raw bytes the kernel uses. File names need not be valid UTF-8, and
/// two names that differ only by Unicode normalisation are two files, so paths are never
/// keyed or compared as `String`.
public struct FilePath: Hashable, Comparable, Sendable, CustomStringConvertible {
  public var bytes: [UInt8]

  public init(bytes: [UInt8]) { self.bytes = bytes }
  public init(_ string: String) { self.bytes = Array(string.utf8) }

  /// The path for display; invalid UTF-8 bytes appear as `\xNN`.
  public var description: String { FilePath.display(bytes) }

  public var isValidUTF8: Bool { String(validating: bytes, as: UTF8.self) != nil }

  public var isAbsolute: Bool { bytes.first == UInt8(ascii: "/") }

  public var lastComponent: [UInt8] {
    let trimmed = bytes.last == UInt8(ascii: "/") && bytes.count > 1 ? Array(bytes.dropLast()) : bytes
    guard let slash = trimmed.lastIndex(of: UInt8(ascii: "/")) else { return trimmed }
    return Array(trimmed[(slash + 1)...])
  }

  public var parent: FilePath {
    guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return FilePath(".") }
    if slash == 0 { return FilePath("/") }
    return FilePath(bytes: Array(bytes[..<slash]))
  }

  public func appending(_ component: [UInt8]) -> FilePath {
    if bytes.isEmpty { return FilePath(bytes: component) }
    if bytes.last == UInt8(ascii: "/") { return FilePath(bytes: bytes + component) }
    return FilePath(bytes: bytes + [UInt8(ascii: "/")] + component)
  }

  public func appending(_ component: String) -> FilePath { appending(Array(component.utf8)) }

  public static func < (lhs: FilePath, rhs: FilePath) -> Bool {
    lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
  }

  /// Calls `body` with the path as a NUL-terminated C string.
  public func withCString<T>(_ body: (UnsafePointer<CChar>) throws -> T) rethrows -> T {
    var terminated = bytes
    terminated.append(0)
    return try terminated.withUnsafeBufferPointer { buffer in
      try buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
        try body($0)
      }
    }
  }

  public static func display(_ bytes: [UInt8]) -> String {
    if let text = String(validating: bytes, as: UTF8.self) { return text }
    var out = ""
    var index = 0
    while index < bytes.count {
      // Decode the longest valid UTF-8 sequence at `index`, else escape one byte.
      var decoded = false
      for length in (1...4).reversed() where index + length <= bytes.count {
        if let piece = String(validating: bytes[index..<(index + length)], as: UTF8.self),
          piece.unicodeScalars.count == 1
        {
          out += piece
          index += length
          decoded = true
          break
        }
      }
      if !decoded {
        out += String(format: "\\x%02x", bytes[index])
        index += 1
      }
    }
    return out
  }
}

/// Absolute form of a path given on the command line or in a config file.
func absolutePath(_ path: String, relativeTo base: String? = nil) -> String {
  if path.hasPrefix("/") { return normalizeSlashes(path) }
  let directory = base ?? FileManager.default.currentDirectoryPath
  return normalizeSlashes(directory + "/" + path)
}

/// Removes `.` components, repeated and trailing slashes. `..` is kept as written, because
/// resolving it lexically is wrong across symlinks.
func normalizeSlashes(_ path: String) -> String {
  let parts = path.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
  return "/" + parts.joined(separator: "/")
}

/// Lists a directory's entry names as raw bytes, in byte order, without `.` and `..`.
func directoryEntries(_ path: FilePath) throws -> [[UInt8]] {
  guard let directory = path.withCString({ opendir($0) }) else {
    throw SystemError("opendir", path: path.description)
  }
  defer { closedir(directory) }
  var names: [[UInt8]] = []
  while true {
    errno = 0
    guard let entry = readdir(directory) else {
      if errno != 0 { throw SystemError("readdir", path: path.description) }
      break
    }
    let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> [UInt8] in
      Array(raw.prefix { $0 != 0 })
    }
    if name == [UInt8(ascii: ".")] || name == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
    names.append(name)
  }
  // Byte order: deterministic, and never merges names that differ only by normalisation.
  return names.sorted { $0.lexicographicallyPrecedes($1) }
}

/// Deletes a directory tree without following symlinks. Names need not be UTF-8.
func removeTree(_ path: FilePath) {
  var info = stat()
  guard path.withCString({ lstat($0, &info) }) == 0 else { return }
  if info.st_mode & S_IFMT == S_IFDIR {
    _ = path.withCString { chmod($0, 0o700) }
    for name in (try? directoryEntries(path)) ?? [] { removeTree(path.appending(name)) }
    _ = path.withCString { rmdir($0) }
  } else {
    _ = path.withCString { unlink($0) }
  }
}

func removeTree(_ path: String) { removeTree(FilePath(path)) }

/// Reads a whole file with POSIX calls (works for character devices such as /dev/null,
/// which Foundation's readers reject). Returns nil when it cannot be opened or read.
func readWholeFile(_ path: String, limit: Int = 64 << 20) -> [UInt8]? {
  let fd = open(path, O_RDONLY | O_CLOEXEC)
  guard fd >= 0 else { return nil }
  defer { close(fd) }
  var content: [UInt8] = []
  var buffer = [UInt8](repeating: 0, count: 65536)
  while content.count <= limit {
    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    if count < 0 && errno == EINTR { continue }
    if count < 0 { return nil }
    if count == 0 { return content }
    content.append(contentsOf: buffer[0..<count])
  }
  return nil
}
