/// Receives the members of a tar stream from `TarReader`.
public protocol TarReaderDelegate: AnyObject {
  func tarReader(beginEntry entry: TarEntry) throws
  /// Delivers member data in order; the total equals `entry.size`.
  func tarReader(data: UnsafeRawBufferPointer) throws
  func tarReaderEndEntry() throws
}

/// A malformed or truncated tar stream.
public struct TarFormatError: Error, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// Parses a tar stream pushed to it as a `ByteSink`: ustar, pax (`x`, `g`) and GNU long-name
/// (`L`, `K`) headers. `finish()` fails unless the end-of-archive marker arrived, so a stream
/// cut at a member boundary is still reported as truncated.
public final class TarReader: ByteSink {
  private enum State {
    case header
    case data(remaining: Int64, padding: Int)
    case metadata(kind: UInt8, remaining: Int64, padding: Int)
    case padding(Int)
    case ended
  }

  private weak var delegate: TarReaderDelegate?
  private var state: State = .header
  private var headerBuffer: [UInt8] = []
  private var metadataBuffer: [UInt8] = []
  private var pendingPax: [String: [UInt8]] = [:]
  private var globalPax: [String: [UInt8]] = [:]
  private var zeroBlocks = 0
  private var trailingBytes = 0
  /// Upper bound for a pax or GNU long-name record, which is held in memory.
  private let metadataLimit: Int64 = 1 << 20
  /// The member being read, for error messages.
  public private(set) var currentPath: [UInt8]?

  public init(delegate: TarReaderDelegate) {
    self.delegate = delegate
    headerBuffer.reserveCapacity(512)
  }

  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    var offset = 0
    while offset < bytes.count {
      switch state {
      case .ended:
        // Anything after the end marker is record padding (GNU tar pads to 10 KiB records).
        // More than that is not an archive lifeboat wrote, and could be a decompression bomb.
        trailingBytes += bytes.count - offset
        guard trailingBytes <= 1 << 20 else {
          throw TarFormatError("corrupt tar archive: more than 1 MiB of data after the end-of-archive marker")
        }
        return

      case .header:
        let take = min(512 - headerBuffer.count, bytes.count - offset)
        headerBuffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)]))
        offset += take
        if headerBuffer.count == 512 {
          try processHeader()
          headerBuffer.removeAll(keepingCapacity: true)
        }

      case .data(let remaining, let padding):
        let take = Int(min(Int64(bytes.count - offset), remaining))
        if take > 0 {
          try delegate?.tarReader(data: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)]))
        }
        offset += take
        let left = remaining - Int64(take)
        if left == 0 {
          try delegate?.tarReaderEndEntry()
          currentPath = nil
          state = padding > 0 ? .padding(padding) : .header
        } else {
          state = .data(remaining: left, padding: padding)
        }

      case .metadata(let kind, let remaining, let padding):
        let take = Int(min(Int64(bytes.count - offset), remaining))
        metadataBuffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)]))
        offset += take
        let left = remaining - Int64(take)
        if left == 0 {
          try finishMetadata(kind)
          state = padding > 0 ? .padding(padding) : .header
        } else {
          state = .metadata(kind: kind, remaining: left, padding: padding)
        }

      case .padding(let count):
        let take = min(count, bytes.count - offset)
        offset += take
        state = count - take == 0 ? .header : .padding(count - take)
      }
    }
  }

  public func finish() throws {
    switch state {
    case .ended:
      return
    default:
      let member = currentPath.map { " in member \(FilePath.display($0))" } ?? ""
      throw TarFormatError("truncated tar archive: the stream ended\(member) before the end-of-archive marker")
    }
  }

  private func processHeader() throws {
    if headerBuffer.allSatisfy({ $0 == 0 }) {
      zeroBlocks += 1
      if zeroBlocks == 2 { state = .ended }
      return
    }
    if zeroBlocks > 0 { throw TarFormatError("corrupt tar archive: data after an empty header block") }

    guard verifyChecksum() else {
      throw TarFormatError("corrupt tar archive: header checksum mismatch")
    }
    let typeFlag = headerBuffer[156]
    let size = try parseNumber(124, 12, field: "size")
    guard size >= 0 else { throw TarFormatError("corrupt tar archive: negative member size") }
    let padding = size % 512 == 0 ? 0 : Int(512 - size % 512)

    switch typeFlag {
    case UInt8(ascii: "x"), UInt8(ascii: "g"), UInt8(ascii: "L"), UInt8(ascii: "K"):
      guard size <= metadataLimit else {
        throw TarFormatError("corrupt tar archive: extended header of \(size) bytes is too large")
      }
      metadataBuffer.removeAll(keepingCapacity: true)
      if size == 0 {
        try finishMetadata(typeFlag)
      } else {
        state = .metadata(kind: typeFlag, remaining: size, padding: padding)
      }
      return
    default:
      break
    }

    var entry = TarEntry(path: [], type: TarEntryType(typeFlag: typeFlag), mode: 0)
    let prefix = field(345, 155)
    let name = field(0, 100)
    entry.path = prefix.isEmpty ? name : prefix + [UInt8(ascii: "/")] + name
    entry.linkTarget = field(157, 100)
    entry.mode = UInt32(truncatingIfNeeded: try parseNumber(100, 8, field: "mode"))
    entry.uid = UInt32(truncatingIfNeeded: try parseNumber(108, 8, field: "uid"))
    entry.gid = UInt32(truncatingIfNeeded: try parseNumber(116, 8, field: "gid"))
    entry.modificationTime = try parseNumber(136, 12, field: "mtime")
    entry.userName = String(decoding: field(265, 32), as: UTF8.self)
    entry.groupName = String(decoding: field(297, 32), as: UTF8.self)
    entry.size = size

    let pax = globalPax.merging(pendingPax) { _, local in local }
    pendingPax = [:]
    if let path = pax["path"] { entry.path = path }
    if let link = pax["linkpath"] { entry.linkTarget = link }
    if let text = pax["size"] {
      guard let value = Int64(String(decoding: text, as: UTF8.self)), value >= 0 else {
        throw TarFormatError("corrupt tar archive: invalid pax size")
      }
      entry.size = value
    }
    if let text = pax["mtime"] {
      let parts = String(decoding: text, as: UTF8.self).split(separator: ".", maxSplits: 1)
      if let seconds = parts.first.flatMap({ Int64($0) }) { entry.modificationTime = seconds }
      if parts.count == 2 {
        let digits = String(parts[1].prefix(9))
        let scaled = digits + String(repeating: "0", count: 9 - digits.count)
        entry.modificationNanoseconds = Int32(scaled) ?? 0
      }
    }
    if let text = pax["uid"], let value = UInt32(String(decoding: text, as: UTF8.self)) { entry.uid = value }
    if let text = pax["gid"], let value = UInt32(String(decoding: text, as: UTF8.self)) { entry.gid = value }
    if let text = pax["uname"] { entry.userName = String(decoding: text, as: UTF8.self) }
    if let text = pax["gname"] { entry.groupName = String(decoding: text, as: UTF8.self) }

    // Regular files carry data. Links never do, whatever their size field contains; other types
    // (directories, devices, GNU extensions) may, and it is skipped.
    let declaredSize = entry.size
    let dataSize: Int64
    let skipSize: Int64
    switch entry.type {
    case .file: (dataSize, skipSize) = (declaredSize, 0)
    case .hardLink, .symlink: (dataSize, skipSize) = (0, 0)
    default: (dataSize, skipSize) = (0, declaredSize)
    }
    if entry.type != .file { entry.size = 0 }
    currentPath = entry.path
    try delegate?.tarReader(beginEntry: entry)
    if dataSize == 0 {
      try delegate?.tarReaderEndEntry()
      currentPath = nil
      let blocks = (skipSize + 511) / 512 * 512
      state = blocks > 0 ? .padding(Int(blocks)) : .header
    } else {
      let dataPadding = dataSize % 512 == 0 ? 0 : Int(512 - dataSize % 512)
      state = .data(remaining: dataSize, padding: dataPadding)
    }
  }

  private func finishMetadata(_ kind: UInt8) throws {
    switch kind {
    case UInt8(ascii: "x"): pendingPax.merge(try parsePax(metadataBuffer)) { _, new in new }
    case UInt8(ascii: "g"): globalPax.merge(try parsePax(metadataBuffer)) { _, new in new }
    case UInt8(ascii: "L"): pendingPax["path"] = Array(metadataBuffer.prefix { $0 != 0 })
    case UInt8(ascii: "K"): pendingPax["linkpath"] = Array(metadataBuffer.prefix { $0 != 0 })
    default: break
    }
  }

  private func parsePax(_ data: [UInt8]) throws -> [String: [UInt8]] {
    var records: [String: [UInt8]] = [:]
    var index = 0
    while index < data.count {
      guard let space = data[index...].firstIndex(of: UInt8(ascii: " ")),
        let length = Int(String(decoding: data[index..<space], as: UTF8.self)),
        length > space - index, index + length <= data.count,
        data[index + length - 1] == UInt8(ascii: "\n")
      else {
        throw TarFormatError("corrupt tar archive: malformed pax extended header")
      }
      let record = data[(space + 1)..<(index + length - 1)]
      guard let equals = record.firstIndex(of: UInt8(ascii: "=")) else {
        throw TarFormatError("corrupt tar archive: pax record without '='")
      }
      let key = String(decoding: record[record.startIndex..<equals], as: UTF8.self)
      records[key] = Array(record[(equals + 1)...])
      index += length
    }
    return records
  }

  private func field(_ offset: Int, _ width: Int) -> [UInt8] {
    let slice = headerBuffer[offset..<(offset + width)]
    return Array(slice.prefix { $0 != 0 })
  }

  private func parseNumber(_ offset: Int, _ width: Int, field name: String) throws -> Int64 {
    let slice = headerBuffer[offset..<(offset + width)]
    // GNU base-256 encoding: high bit of the first byte set.
    if let first = slice.first, first & 0x80 != 0 {
      var value: Int64 = Int64(first & 0x7f)
      for byte in slice.dropFirst() {
        guard value < (Int64.max >> 8) else {
          throw TarFormatError("corrupt tar archive: \(name) field overflows")
        }
        value = value << 8 | Int64(byte)
      }
      return value
    }
    var value: Int64 = 0
    var seenDigit = false
    for byte in slice {
      if byte == 0 || byte == UInt8(ascii: " ") {
        if seenDigit { break } else { continue }
      }
      guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "7") else {
        throw TarFormatError("corrupt tar archive: invalid \(name) field")
      }
      seenDigit = true
      value = value * 8 + Int64(byte - UInt8(ascii: "0"))
    }
    return value
  }

  private func verifyChecksum() -> Bool {
    guard let stored = try? parseNumber(148, 8, field: "checksum") else { return false }
    var sum = 0
    for (index, byte) in headerBuffer.enumerated() {
      sum += (148..<156).contains(index) ? 32 : Int(byte)
    }
    return Int64(sum) == stored
  }
}
