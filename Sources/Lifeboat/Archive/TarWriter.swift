import Foundation

/// Writes a POSIX.1-2001 (pax) tar stream to a sink.
///
/// A member gets a pax extended header only when the ustar fields cannot hold it exactly: a
/// path or link target that is long or not ASCII, a size of 8 GiB or more, a sub-second mtime,
/// or a large uid/gid. Names that are not valid UTF-8 are stored as raw bytes with
/// `hdrcharset=BINARY`, which GNU tar honours. GNU tar, bsdtar and Python's tarfile read it.
public final class TarWriter {
  private let sink: ByteSink
  private var buffer: [UInt8] = []
  private let bufferLimit = 256 * 1024
  private var remaining: Int64 = 0
  private var currentSize: Int64 = 0
  private var paxCounter = 0
  /// Bytes written to the sink so far, including padding.
  public private(set) var bytesWritten: Int64 = 0

  public init(sink: ByteSink) {
    self.sink = sink
    buffer.reserveCapacity(bufferLimit + 1024)
  }

  /// Writes the header of `entry`. Exactly `entry.size` bytes of data must follow through
  /// `writeData` before the next header.
  public func writeHeader(_ entry: TarEntry) throws {
    precondition(remaining == 0, "previous tar member is missing data")
    var pax: [(String, [UInt8])] = []
    var binaryNames = false

    let nameFits = entry.path.count <= 100 && entry.path.allSatisfy { $0 < 0x80 && $0 > 0 }
    if !nameFits {
      pax.append(("path", entry.path))
      if String(validating: entry.path, as: UTF8.self) == nil { binaryNames = true }
    }
    let linkFits =
      entry.linkTarget.count <= 100 && entry.linkTarget.allSatisfy { $0 < 0x80 && $0 > 0 }
    if !linkFits {
      pax.append(("linkpath", entry.linkTarget))
      if String(validating: entry.linkTarget, as: UTF8.self) == nil { binaryNames = true }
    }
    if entry.size > 0o77777777777 { pax.append(("size", Array(String(entry.size).utf8))) }
    if entry.modificationNanoseconds != 0 || entry.modificationTime < 0
      || entry.modificationTime > 0o77777777777
    {
      pax.append(("mtime", Array(paxTime(entry.modificationTime, entry.modificationNanoseconds).utf8)))
    }
    if entry.uid > 0o7777777 { pax.append(("uid", Array(String(entry.uid).utf8))) }
    if entry.gid > 0o7777777 { pax.append(("gid", Array(String(entry.gid).utf8))) }
    if entry.userName.utf8.count > 31 { pax.append(("uname", Array(entry.userName.utf8))) }
    if entry.groupName.utf8.count > 31 { pax.append(("gname", Array(entry.groupName.utf8))) }
    if binaryNames { pax.insert(("hdrcharset", Array("BINARY".utf8)), at: 0) }

    if !pax.isEmpty {
      var records: [UInt8] = []
      for (key, value) in pax { records += paxRecord(key, value) }
      paxCounter += 1
      var paxEntry = TarEntry(
        path: Array("PaxHeaders/\(paxCounter)".utf8), type: .other(UInt8(ascii: "x")), mode: 0o644)
      paxEntry.size = Int64(records.count)
      paxEntry.modificationTime = max(0, min(entry.modificationTime, 0o77777777777))
      try append(ustarHeader(paxEntry))
      try append(records)
      try append([UInt8](repeating: 0, count: padding(Int64(records.count))))
    }

    try append(ustarHeader(entry))
    remaining = entry.type == .file ? entry.size : 0
    currentSize = remaining
  }

  /// Writes member data. The total for a member must equal its header's size.
  public func writeData(_ bytes: UnsafeRawBufferPointer) throws {
    precondition(Int64(bytes.count) <= remaining, "tar member data exceeds its header size")
    remaining -= Int64(bytes.count)
    if bytes.count >= bufferLimit {
      try flush()
      try sink.write(bytes)
      bytesWritten += Int64(bytes.count)
    } else {
      buffer.append(contentsOf: bytes)
      if buffer.count >= bufferLimit { try flush() }
    }
    if remaining == 0 {
      try append([UInt8](repeating: 0, count: padding(currentSize)))
    }
  }

  public func writeData(_ bytes: [UInt8]) throws {
    try bytes.withUnsafeBytes { try writeData($0) }
  }

  /// Data still owed to the current member.
  public var remainingDataBytes: Int64 { remaining }

  /// Writes the end-of-archive marker (two zero blocks) and finishes the sink.
  public func finish() throws {
    precondition(remaining == 0, "last tar member is missing data")
    try append([UInt8](repeating: 0, count: 1024))
    try flush()
    try sink.finish()
  }

  private func append(_ bytes: [UInt8]) throws {
    buffer.append(contentsOf: bytes)
    if buffer.count >= bufferLimit { try flush() }
  }

  private func flush() throws {
    guard !buffer.isEmpty else { return }
    try buffer.withUnsafeBytes { try sink.write($0) }
    bytesWritten += Int64(buffer.count)
    buffer.removeAll(keepingCapacity: true)
  }

  private func padding(_ size: Int64) -> Int {
    let rest = Int(size % 512)
    return rest == 0 ? 0 : 512 - rest
  }

  private func paxTime(_ seconds: Int64, _ nanoseconds: Int32) -> String {
    if nanoseconds == 0 { return String(seconds) }
    var fraction = String(format: "%09d", nanoseconds)
    while fraction.hasSuffix("0") { fraction.removeLast() }
    return "\(seconds).\(fraction)"
  }

  /// Encodes a pax record, `LENGTH key=value\n`, where LENGTH counts the whole record, itself
  /// included.
  private func paxRecord(_ key: String, _ value: [UInt8]) -> [UInt8] {
    let body = Array(" \(key)=".utf8) + value + [UInt8(ascii: "\n")]
    var length = body.count + 1
    while String(length).utf8.count + body.count != length { length += 1 }
    return Array(String(length).utf8) + body
  }

  private func ustarHeader(_ entry: TarEntry) -> [UInt8] {
    var header = [UInt8](repeating: 0, count: 512)
    func put(_ bytes: [UInt8], at offset: Int, width: Int) {
      for (index, byte) in bytes.prefix(width).enumerated() { header[offset + index] = byte }
    }
    func putOctal(_ value: Int64, at offset: Int, width: Int) {
      // Values too large for the field were put in the pax header; the field gets its maximum.
      let maximum: Int64 = (1 << (3 * Int64(width - 1))) - 1
      let clamped = max(0, min(value, maximum))
      let digits = String(clamped, radix: 8)
      let padded = String(repeating: "0", count: width - 1 - digits.count) + digits
      put(Array(padded.utf8), at: offset, width: width - 1)
    }

    let name = entry.path.count <= 100 ? entry.path : Array(entry.path.prefix(100))
    put(name.map { $0 == 0 ? UInt8(ascii: "_") : $0 }, at: 0, width: 100)
    putOctal(Int64(entry.mode & 0o7777), at: 100, width: 8)
    putOctal(Int64(entry.uid), at: 108, width: 8)
    putOctal(Int64(entry.gid), at: 116, width: 8)
    putOctal(entry.type == .file || entry.type.typeFlag == UInt8(ascii: "x") ? entry.size : 0,
      at: 124, width: 12)
    putOctal(entry.modificationTime, at: 136, width: 12)
    header[156] = entry.type.typeFlag
    put(Array(entry.linkTarget.prefix(100)), at: 157, width: 100)
    put(Array("ustar\u{0}00".utf8), at: 257, width: 8)
    put(Array(entry.userName.utf8.prefix(31)), at: 265, width: 32)
    put(Array(entry.groupName.utf8.prefix(31)), at: 297, width: 32)

    // The checksum is computed with its own field as eight spaces.
    for index in 148..<156 { header[index] = UInt8(ascii: " ") }
    let checksum = header.reduce(0) { $0 + Int($1) }
    let digits = String(checksum, radix: 8)
    put(Array((String(repeating: "0", count: 6 - digits.count) + digits).utf8), at: 148, width: 6)
    header[154] = 0
    header[155] = UInt8(ascii: " ")
    return header
  }
}
