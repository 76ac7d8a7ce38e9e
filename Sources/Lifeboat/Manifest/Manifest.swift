import Foundation

/// One archived path, as recorded in the manifest.
///
/// `path` is the archive path as text for people and tools. When the raw bytes are not valid
/// UTF-8, `pathBase64` contains them exactly, and lifeboat uses it.
public struct ManifestFile: Codable, Sendable, Equatable {
  public var path: String
  public var pathBase64: String?
  public var type: String
  public var size: Int64
  /// Permission bits in octal, such as `0644`.
  public var mode: String
  public var mtime: String
  public var mtimeNanoseconds: Int32?
  public var uid: UInt32?
  public var gid: UInt32?
  public var sha256: String?
  public var linkTarget: String?
  public var linkTargetBase64: String?
  /// A note, set when the file changed while it was read, describing what was stored.
  public var changed: String?
  /// Bytes of real content when the stored data ends in zero padding (the file shrank or a read
  /// failed after its header was written). Restore writes only these bytes.
  public var validSize: Int64?

  enum CodingKeys: String, CodingKey {
    case path, type, size, mode, mtime, uid, gid, sha256, changed
    case validSize = "valid_size"
    case pathBase64 = "path_base64"
    case mtimeNanoseconds = "mtime_ns"
    case linkTarget = "link_target"
    case linkTargetBase64 = "link_target_base64"
  }

  public var pathBytes: [UInt8] {
    if let encoded = pathBase64, let data = Data(base64Encoded: encoded) { return [UInt8](data) }
    return Array(path.utf8)
  }

  public var linkTargetBytes: [UInt8]? {
    if let encoded = linkTargetBase64, let data = Data(base64Encoded: encoded) { return [UInt8](data) }
    return linkTarget.map { Array($0.utf8) }
  }

  public var modeBits: UInt32 { UInt32(mode, radix: 8) ?? 0o644 }

  static func encodeName(_ bytes: [UInt8]) -> (text: String, base64: String?) {
    if let text = String(validating: bytes, as: UTF8.self) { return (text, nil) }
    return (FilePath.display(bytes), Data(bytes).base64EncodedString())
  }
}

/// A source of the backup: a database copied with the backup API, or a directory tree.
public struct ManifestSource: Codable, Sendable, Equatable {
  public var name: String
  public var kind: String
  /// The absolute path the source was read from, where an in-place restore puts it back.
  public var path: String
  public var database: DatabaseInfo?
}

/// A problem met while taking the backup.
public struct ManifestWarning: Codable, Sendable, Equatable {
  public var path: String
  public var message: String
}

/// The stored archive object.
public struct ManifestArchive: Codable, Sendable, Equatable {
  public var key: String
  /// Size and SHA-256 of the compressed archive (`.tar.gz`, `.tar.zst`), before any encryption.
  public var size: Int64
  public var sha256: String
  public var compression: String
  /// Size and SHA-256 of the object as stored, set only when it is age-encrypted (`.age`).
  public var storedSize: Int64? = nil
  public var storedSHA256: String? = nil

  enum CodingKeys: String, CodingKey {
    case key, size, sha256, compression
    case storedSize = "stored_size"
    case storedSHA256 = "stored_sha256"
  }
}

/// The record of one backup. A copy is stored inside the archive (`manifest.json`) and, with
/// `archive` filled in, as the separate manifest object whose presence commits the backup.
public struct Manifest: Codable, Sendable, Equatable {
  public static let formatName = "lifeboat-manifest"
  public static let currentVersion = 1

  public var format: String = Manifest.formatName
  public var formatVersion: Int = Manifest.currentVersion
  public var id: String
  public var host: String
  public var lifeboatVersion: String
  public var startedAt: String
  public var finishedAt: String
  /// `complete`, `warnings` (files changed or vanished while read) or `partial` (sources skipped).
  public var status: String
  public var compression: String
  public var sources: [ManifestSource]
  public var files: [ManifestFile]
  public var warnings: [ManifestWarning]
  public var fileCount: Int
  public var totalBytes: Int64
  public var archive: ManifestArchive?

  enum CodingKeys: String, CodingKey {
    case format, id, host, status, compression, sources, files, warnings, archive
    case formatVersion = "format_version"
    case lifeboatVersion = "lifeboat_version"
    case startedAt = "started_at"
    case finishedAt = "finished_at"
    case fileCount = "file_count"
    case totalBytes = "total_bytes"
  }

  public func encoded() throws -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return [UInt8](try encoder.encode(self)) + [UInt8(ascii: "\n")]
  }

  public static func decode(_ bytes: [UInt8], name: String) throws -> Manifest {
    let manifest: Manifest
    do {
      manifest = try JSONDecoder().decode(Manifest.self, from: Data(bytes))
    } catch {
      throw LifeboatError(
        .dataError, "manifest \(name) is not valid: \(error)",
        hint: "the object is damaged; verify the other backups and restore from one of them")
    }
    guard manifest.format == formatName else {
      throw LifeboatError(.dataError, "\(name) is not a lifeboat manifest")
    }
    guard manifest.formatVersion <= currentVersion else {
      throw LifeboatError(
        .dataError,
        "manifest \(name) has format version \(manifest.formatVersion); this lifeboat reads up to \(currentVersion)",
        hint: "restore with a newer lifeboat")
    }
    try manifest.validate(name: name)
    return manifest
  }

  /// Rejects a manifest whose sources could send restored files outside their destination:
  /// every source name must be one plain path component, and every file must lie under one.
  /// A manifest that fails is treated as damaged, even when its checksums match.
  func validate(name: String) throws {
    func reject(_ reason: String) -> LifeboatError {
      LifeboatError(
        .dataError, "manifest \(name) is not valid: \(reason)",
        hint: "the backup cannot be restored safely; restore from another backup ('lifeboat list')")
    }
    var names = Set<String>()
    for source in sources {
      let bad = source.name.isEmpty || source.name == "." || source.name == ".."
        || source.name.contains("/") || source.name.contains("\0")
        || source.name == "manifest.json" || source.name == "SHA256SUMS"
      if bad { throw reject("source name '\(source.name)' is not a single file name") }
      guard source.kind == "database" || source.kind == "tree" else {
        throw reject("source '\(source.name)' has unknown kind '\(source.kind)'")
      }
      guard names.insert(source.name).inserted else {
        throw reject("source name '\(source.name)' appears twice")
      }
    }
    var databaseFiles = Set(sources.filter { $0.kind == "database" }.map(\.name))
    for file in files {
      let bytes = file.pathBytes
      let top = String(decoding: bytes.prefix { $0 != UInt8(ascii: "/") }, as: UTF8.self)
      guard names.contains(top) else {
        throw reject("file '\(file.path)' is not under any source of the backup")
      }
      if databaseFiles.contains(top) {
        guard file.type == "file", bytes.count == top.utf8.count else {
          throw reject("database source '\(top)' is not stored as one regular file")
        }
        databaseFiles.remove(top)
      }
    }
    if let missing = databaseFiles.first {
      throw reject("database source '\(missing)' has no file")
    }
  }

  /// Returns the `SHA256SUMS` text for `sha256sum -c`: one line per regular file. Names with a
  /// backslash or newline use coreutils' escaped form (a leading `\`, then `\\` and `\n`).
  public func checksumList() -> [UInt8] {
    var out: [UInt8] = []
    for file in files where file.type == "file" {
      guard let digest = file.sha256 else { continue }
      let name = file.pathBytes
      let needsEscape = name.contains(UInt8(ascii: "\\")) || name.contains(UInt8(ascii: "\n"))
      if needsEscape { out.append(UInt8(ascii: "\\")) }
      out += Array(digest.utf8) + Array("  ".utf8)
      for byte in name {
        if needsEscape && byte == UInt8(ascii: "\\") {
          out += Array("\\\\".utf8)
        } else if needsEscape && byte == UInt8(ascii: "\n") {
          out += Array("\\n".utf8)
        } else {
          out.append(byte)
        }
      }
      out.append(UInt8(ascii: "\n"))
    }
    return out
  }
}
