import Foundation
import Testing

@testable import Lifeboat

/// Every kind of file a tree contains, checked through lifeboat's restore and GNU tar.
@Suite struct TarFidelityTests {
  @Test func fileKindsRoundTrip() throws {
    let work = try TemporaryDirectory("kinds")
    let tree = work.join("tree")
    try TestSupport.shell("""
      set -e
      mkdir -p '\(tree)/empty' '\(tree)/sub'
      printf 'one' > '\(tree)/sub/a.txt'
      ln '\(tree)/sub/a.txt' '\(tree)/hardlink.txt'
      ln -s sub/a.txt '\(tree)/relative-link'
      ln -s ../tree/sub '\(tree)/dir-link'
      truncate -s 5M '\(tree)/sparse.bin' && printf 'tail' >> '\(tree)/sparse.bin'
      printf 'x' > '\(tree)/nanos.txt' && touch -d '2024-02-29 12:34:56.123456789' '\(tree)/nanos.txt'
      chmod 0751 '\(tree)/sub' && chmod 0640 '\(tree)/sub/a.txt'
      chown 4242:4343 '\(tree)/sub/a.txt' 2>/dev/null || true
      """)
    let repo = work.join("repo")
    let backup = try TestSupport.lifeboat(["backup", "--path", tree, "--repo", "file://" + repo])
    #expect(backup.status == 0, "\(backup.stderr)")

    let target = work.join("restored")
    let restore = try TestSupport.lifeboat(["restore", "latest", "--target", target, "--repo", "file://" + repo])
    #expect(restore.status == 0, "\(restore.stderr)")
    let gnu = work.join("gnu")
    try FileManager.default.createDirectory(atPath: gnu, withIntermediateDirectories: true)
    let untar = try TestSupport.shell("tar --same-owner -xzf '\(repo)'/backups/*.tar.gz -C '\(gnu)'")
    #expect(untar.status == 0, "\(untar.stderr)")

    let listing = "cd '%@' && find tree -printf '%%p %%y %%m %%U:%%G %%s %%T@ %%l\\n' | sort"
    let original = try TestSupport.shell(String(format: listing, work.path)).stdout
    for restored in [target, gnu] {
      #expect(try TestSupport.shell(String(format: listing, restored)).stdout == original)
      // The hard link is one inode again, and the sparse file reads back exactly.
      let inodes = try TestSupport.shell("stat -c %i '\(restored)/tree/sub/a.txt' '\(restored)/tree/hardlink.txt' | uniq | wc -l")
      #expect(inodes.stdout == "1\n")
      let sparse = try TestSupport.shell("cmp '\(tree)/sparse.bin' '\(restored)/tree/sparse.bin'")
      #expect(sparse.status == 0)
    }
    let nanos = try TestSupport.shell("stat -c %y '\(target)/tree/nanos.txt'")
    #expect(nanos.stdout.contains("12:34:56.123456789"))
  }

  @Test func paxHeaderForLargeSizeAndNames() throws {
    var entry = TarEntry(path: Array("big.bin".utf8), type: .file, mode: 0o644)
    entry.size = 9 << 30
    entry.uid = 3_000_000
    entry.userName = String(repeating: "u", count: 40)

    let sink = ByteCollector()
    let second = TarWriter(sink: sink)
    var small = entry
    small.size = 3
    try second.writeHeader(small)
    try second.writeData(Array("abc".utf8))
    try second.finish()
    let records = String(decoding: sink.bytes.prefix(1024), as: UTF8.self)
    #expect(records.contains("uid=3000000"))
    #expect(records.contains("uname=" + String(repeating: "u", count: 40)))

    // A reader recovers every field, including a size beyond the octal field's 8 GiB.
    final class Capture: TarReaderDelegate {
      var entries: [TarEntry] = []
      func tarReader(beginEntry entry: TarEntry) throws { entries.append(entry) }
      func tarReader(data: UnsafeRawBufferPointer) throws {}
      func tarReaderEndEntry() throws {}
    }
    let capture = Capture()
    let reader = TarReader(delegate: capture)
    try sink.bytes.withUnsafeBytes { try reader.write($0) }
    try reader.finish()
    #expect(capture.entries.first?.uid == 3_000_000)
    #expect(capture.entries.first?.userName == String(repeating: "u", count: 40))

    // A 9 GiB member: its header reaches the sink once enough data follows it.
    let large = ByteCollector()
    let bigWriter = TarWriter(sink: large)
    try bigWriter.writeHeader(entry)
    try bigWriter.writeData([UInt8](repeating: 0, count: 300 * 1024))
    let header = String(decoding: large.bytes.prefix(1024), as: UTF8.self)
    #expect(header.contains("size=\(9 << 30)"))
  }

  @Test func truncatedArchiveIsRejected() throws {
    let sink = ByteCollector()
    let writer = TarWriter(sink: sink)
    var entry = TarEntry(path: Array("a.txt".utf8), type: .file, mode: 0o644)
    entry.size = 2000
    try writer.writeHeader(entry)
    try writer.writeData([UInt8](repeating: 65, count: 2000))
    try writer.finish()

    final class Ignore: TarReaderDelegate {
      func tarReader(beginEntry entry: TarEntry) throws {}
      func tarReader(data: UnsafeRawBufferPointer) throws {}
      func tarReaderEndEntry() throws {}
    }
    for cut in [100, 512, 1500, 2560, sink.bytes.count - 512] {
      let reader = TarReader(delegate: Ignore())
      try Array(sink.bytes.prefix(cut)).withUnsafeBytes { try reader.write($0) }
      #expect(throws: TarFormatError.self) { try reader.finish() }
    }
    let whole = TarReader(delegate: Ignore())
    try sink.bytes.withUnsafeBytes { try whole.write($0) }
    try whole.finish()
  }
}
