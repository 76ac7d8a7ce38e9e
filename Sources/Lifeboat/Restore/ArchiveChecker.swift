import Foundation

/// Checks every member of an archive against the backup's manifest while the archive streams
/// past, and hands the members to an extractor when restoring.
///
/// A member must be named in the manifest with the same type, size and SHA-256; names are
/// validated before anything is written, so a hostile name never reaches the file system.
/// Database members can be spooled to a private temporary file for `PRAGMA integrity_check`.
public final class ArchiveChecker: TarReaderDelegate {
  public struct Options {
    /// Copy each database member to a temporary file and run `integrity_check` on it.
    public var checkDatabases = false
    public var spoolDirectory = NSTemporaryDirectory()
    /// Only members under these top-level names are extracted; all are still checked.
    public var onlyNames: Set<String>? = nil
    public init() {}
  }

  private let manifest: Manifest
  private let options: Options
  private let extractor: ArchiveExtractor?
  private var expected: [[UInt8]: ManifestFile] = [:]
  private var seen = Set<[UInt8]>()
  private var databaseNames = Set<[UInt8]>()
  private var current: (path: [UInt8], file: ManifestFile?, special: Bool)?
  private let hasher = SHA256Hasher()
  private var received: Int64 = 0
  private var innerManifest = ByteCollector()
  private var databaseSpool: (fd: Int32, path: String)?
  /// Problems that do not stop the stream (verify reports them all).
  public private(set) var databaseProblems: [String] = []
  public private(set) var bytesChecked: Int64 = 0
  /// Files restored without the zero padding their backup stored, for the restore's warnings.
  public private(set) var truncatedFiles: [String] = []

  public init(manifest: Manifest, extractor: ArchiveExtractor?, options: Options = Options()) throws {
    self.manifest = manifest
    self.extractor = extractor
    self.options = options
    for file in manifest.files {
      let path = try MemberPath.normalize(file.pathBytes)
      guard expected[path] == nil else {
        throw ExtractionError.mismatch(file.path, "listed twice in the manifest")
      }
      expected[path] = file
    }
    for source in manifest.sources where source.kind == "database" {
      databaseNames.insert(Array(source.name.utf8))
    }
  }

  public func tarReader(beginEntry entry: TarEntry) throws {
    let path = try MemberPath.normalize(entry.path)
    let shown = FilePath.display(path)
    guard !seen.contains(path) else {
      throw ExtractionError.unsafeMember(shown, "appears twice in the archive")
    }
    seen.insert(path)
    received = 0

    if path == Array("manifest.json".utf8) || path == Array("SHA256SUMS".utf8) {
      guard entry.type == .file else { throw ExtractionError.mismatch(shown, "not a regular file") }
      innerManifest = ByteCollector()
      current = (path, nil, true)
      return
    }

    guard let file = expected[path] else { throw ExtractionError.notInManifest(shown) }
    guard entry.type.name == file.type else {
      throw ExtractionError.mismatch(shown, "the archive has a \(entry.type.name), the manifest a \(file.type)")
    }
    if entry.type == .file && entry.size != file.size {
      throw ExtractionError.mismatch(shown, "size \(entry.size) in the archive, \(file.size) in the manifest")
    }
    if entry.type == .symlink || entry.type == .hardLink {
      guard entry.linkTarget == file.linkTargetBytes else {
        throw ExtractionError.mismatch(shown, "link target differs from the manifest")
      }
    }
    current = (path, file, false)

    if options.checkDatabases && databaseNames.contains(path) {
      let spool = try SQLiteSnapshot.makeSpoolFile(in: options.spoolDirectory, name: "verify.db")
      let fd = open(spool, O_WRONLY | O_TRUNC | O_CLOEXEC)
      guard fd >= 0 else { throw ExtractionError.system("cannot open \(spool)") }
      databaseSpool = (fd, spool)
    }
    if let extractor, isSelected(path) {
      try extractor.begin(entry, path: path)
    }
  }

  public func tarReader(data: UnsafeRawBufferPointer) throws {
    guard let current else { return }
    received += Int64(data.count)
    bytesChecked += Int64(data.count)
    if current.special {
      if current.path == Array("manifest.json".utf8) {
        guard received <= 64 << 20 else { throw ExtractionError.mismatch("manifest.json", "too large") }
        try innerManifest.write(data)
      }
      return
    }
    hasher.update(data)
    if let spool = databaseSpool {
      var offset = 0
      while offset < data.count {
        let count = write(spool.fd, data.baseAddress! + offset, data.count - offset)
        guard count > 0 else { throw ExtractionError.system("cannot write \(spool.path): \(String(cString: strerror(errno)))") }
        offset += count
      }
    }
    guard let extractor, isSelected(current.path) else { return }
    // Zero padding stored after a file shrank or failed to read is checked but not restored.
    if let valid = current.file?.validSize {
      let before = received - Int64(data.count)
      let keep = Int(max(0, min(Int64(data.count), valid - before)))
      if keep > 0 { try extractor.data(UnsafeRawBufferPointer(rebasing: data[0..<keep])) }
      return
    }
    try extractor.data(data)
  }

  public func tarReaderEndEntry() throws {
    guard let current else { return }
    self.current = nil
    if current.special {
      if current.path == Array("manifest.json".utf8) { try compareInnerManifest() }
      return
    }
    guard let file = current.file else { return }
    let shown = FilePath.display(current.path)
    if file.type == "file" {
      let digest = hasher.finalize().hexString
      guard digest == file.sha256 else {
        throw ExtractionError.mismatch(shown, "SHA-256 mismatch: expected \(file.sha256 ?? "none"), got \(digest)")
      }
    }
    if let spool = databaseSpool {
      close(spool.fd)
      databaseSpool = nil
      defer { SQLiteSnapshot.removeDatabaseFiles(spool.path) }
      do {
        let database = try SQLiteDatabase(path: spool.path, readOnly: false)
        let problems = try database.check(thorough: true)
        if !problems.isEmpty {
          databaseProblems.append("\(shown): integrity_check failed: \(problems.prefix(3).joined(separator: "; "))")
        }
      } catch {
        databaseProblems.append("\(shown): cannot open the database copy: \(error)")
      }
    }
    if let valid = file.validSize, isSelected(current.path) {
      truncatedFiles.append("\(shown): restored its first \(valid) of \(file.size) bytes; the rest could not be read when the backup was taken")
    }
    if let extractor, isSelected(current.path) { try extractor.end() }
  }

  /// Checks that every manifest entry was in the archive. Call after the stream finished.
  public func finish() throws {
    for (path, _) in expected where !seen.contains(path) {
      throw ExtractionError.missing(FilePath.display(path))
    }
    guard seen.contains(Array("manifest.json".utf8)) else {
      throw ExtractionError.missing("manifest.json")
    }
  }

  /// Stops cleanly after a failure: closes and removes any temporary database copy.
  public func abandon() {
    if let spool = databaseSpool {
      close(spool.fd)
      SQLiteSnapshot.removeDatabaseFiles(spool.path)
      databaseSpool = nil
    }
  }

  private func isSelected(_ path: [UInt8]) -> Bool {
    guard let only = options.onlyNames else { return true }
    let top = path.split(separator: UInt8(ascii: "/")).first.map { String(decoding: $0, as: UTF8.self) } ?? ""
    return only.contains(top)
  }

  private func compareInnerManifest() throws {
    let inner = try Manifest.decode(innerManifest.bytes, name: "manifest.json in the archive")
    guard inner.id == manifest.id, inner.files == manifest.files, inner.sources == manifest.sources else {
      throw ExtractionError.mismatch(
        "manifest.json", "the archive's manifest disagrees with the stored manifest of backup \(manifest.id)")
    }
  }
}
