/// The kinds of tar member lifeboat writes and accepts.
public enum TarEntryType: Sendable, Equatable {
  case file
  case directory
  case symlink
  case hardLink
  /// Anything else in a foreign archive: devices, FIFOs, unknown type flags.
  case other(UInt8)

  var typeFlag: UInt8 {
    switch self {
    case .file: return UInt8(ascii: "0")
    case .hardLink: return UInt8(ascii: "1")
    case .symlink: return UInt8(ascii: "2")
    case .directory: return UInt8(ascii: "5")
    case .other(let flag): return flag
    }
  }

  init(typeFlag: UInt8) {
    switch typeFlag {
    case UInt8(ascii: "0"), 0, UInt8(ascii: "7"): self = .file
    case UInt8(ascii: "1"): self = .hardLink
    case UInt8(ascii: "2"): self = .symlink
    case UInt8(ascii: "5"): self = .directory
    default: self = .other(typeFlag)
    }
  }

  public var name: String {
    switch self {
    case .file: return "file"
    case .directory: return "directory"
    case .symlink: return "symlink"
    case .hardLink: return "hardlink"
    case .other(let flag): return "type \(Character(Unicode.Scalar(flag)))"
    }
  }
}

/// One tar member's metadata. Paths are raw bytes, relative, `/`-separated.
public struct TarEntry: Sendable, Equatable {
  public var path: [UInt8]
  public var type: TarEntryType
  public var mode: UInt32
  public var uid: UInt32 = 0
  public var gid: UInt32 = 0
  public var userName: String = ""
  public var groupName: String = ""
  /// Seconds since the epoch.
  public var modificationTime: Int64 = 0
  /// Nanoseconds within the second.
  public var modificationNanoseconds: Int32 = 0
  /// Bytes of data that follow the header; 0 for everything but regular files.
  public var size: Int64 = 0
  /// Target of a symlink or hard link.
  public var linkTarget: [UInt8] = []

  public init(path: [UInt8], type: TarEntryType, mode: UInt32) {
    self.path = path
    self.type = type
    self.mode = mode
  }
}
