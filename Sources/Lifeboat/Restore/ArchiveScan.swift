import Foundation

/// One pass over a stored archive: the raw bytes are hashed and counted while they are
/// decompressed, parsed as tar and checked member by member.
public enum ArchiveScan {
  public struct Result {
    public var archiveSHA256: String
    public var archiveBytes: Int64
  }

  /// Streams the backup's archive through `checker`.
  ///
  /// - Throws: `LifeboatError` with `.dataError` when the archive is damaged, disagrees with
  ///   the manifest or its checksum differs, naming the backup and, where known, the member.
  public static func run(record: BackupRecord, store: ObjectStore, checker: ArchiveChecker) throws -> Result {
    let key = record.manifest.archive?.key ?? record.id
    return try scan(record: record, checker: checker) { sink in
      try store.read(key: key, range: nil, into: sink)
    }
  }

  /// Creates the checker for `record`. A manifest that names an unsafe path fails here, as
  /// the same `.dataError` a damaged archive gives.
  public static func makeChecker(
    record: BackupRecord, extractor: ArchiveExtractor?, options: ArchiveChecker.Options
  ) throws -> ArchiveChecker {
    do {
      return try ArchiveChecker(manifest: record.manifest, extractor: extractor, options: options)
    } catch {
      throw classify(error, record: record, member: nil)
    }
  }

  /// Streams a copy of the backup's archive that was downloaded to `archiveFile` through
  /// `checker`, with the same checks as `run(record:store:checker:)`.
  public static func run(record: BackupRecord, archiveFile: String, checker: ArchiveChecker) throws -> Result {
    try scan(record: record, checker: checker) { sink in
      try readFile(archiveFile, into: sink)
    }
  }

  private static func scan(
    record: BackupRecord, checker: ArchiveChecker, read: (ByteSink) throws -> Void
  ) throws -> Result {
    guard let archive = record.manifest.archive, let format = CompressionFormat(rawValue: archive.compression)
    else {
      throw LifeboatError(.dataError, "manifest of backup \(record.id) names no known archive format")
    }
    let tar = TarReader(delegate: checker)
    let raw: HashingSink
    var stored: HashingSink?
    do {
      let decompressor = try Compression.makeDecompressor(format, next: tar)
      raw = HashingSink(next: decompressor)
      // An encrypted archive: store -> hash and count -> age -> raw.
      stored = record.encryption.map { HashingSink(next: AgeDecryptor(identities: $0.identities, next: raw)) }
      let input = stored ?? raw
      try read(input)
      try input.finish()
      try checker.finish()
    } catch {
      checker.abandon()
      throw classify(error, record: record, member: tar.currentPath)
    }

    let digest = raw.digest.hexString
    guard raw.byteCount == archive.size, digest == archive.sha256 else {
      throw LifeboatError(
        .dataError,
        "backup \(record.id): archive \(archive.key) checksum mismatch: expected \(archive.size) bytes with SHA-256 \(archive.sha256), read \(raw.byteCount) bytes with \(digest)",
        hint: "the stored archive is damaged; restore from another backup ('lifeboat list')")
    }
    if let stored, let expected = archive.storedSHA256,
      stored.digest.hexString != expected || stored.byteCount != archive.storedSize
    {
      throw LifeboatError(
        .dataError,
        "backup \(record.id): archive \(archive.key) checksum mismatch: expected \(archive.storedSize ?? 0) stored bytes with SHA-256 \(expected), read \(stored.byteCount) bytes with \(stored.digest.hexString)",
        hint: "the stored archive is not the one this backup wrote; restore from another backup")
    }
    return Result(archiveSHA256: digest, archiveBytes: raw.byteCount)
  }

  private static func readFile(_ path: String, into sink: ByteSink) throws {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw SystemError("open", path: path) }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    while true {
      let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      guard count >= 0 else { throw SystemError("read", path: path) }
      if count == 0 { return }
      try buffer.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }
  }

  static func classify(_ error: Error, record: BackupRecord, member: [UInt8]?) -> Error {
    let inMember = member.map { " (in member \(FilePath.display($0)))" } ?? ""
    let key = record.manifest.archive?.key ?? record.id
    switch error {
    case StorageError.notFound:
      return LifeboatError(
        .dataError, "backup \(record.id): archive \(key) is missing from the repository",
        hint: "the backup is incomplete; restore from another backup")
    case let error as StorageError:
      return LifeboatError(.unavailable, "backup \(record.id): reading \(key) failed: \(error)")
    case let error as AgeError:
      return LifeboatError(
        .dataError, "backup \(record.id): archive \(key) cannot be decrypted: \(error)",
        hint: "restore from another backup ('lifeboat list'), and run 'lifeboat verify --all'")
    case is CompressionError, is TarFormatError:
      return LifeboatError(
        .dataError, "backup \(record.id): archive \(key) is damaged: \(error)\(inMember)",
        hint: "restore from another backup ('lifeboat list'), and run 'lifeboat verify --all'")
    case ExtractionError.externalSymlink:
      return LifeboatError(
        .failure, "backup \(record.id): \(error); nothing was put in place",
        hint: "trees such as /etc often hold absolute symlinks. If you expect this one, run the "
          + "restore again with --allow-external-symlinks; every other check still applies")
    case let error as ExtractionError:
      return LifeboatError(
        .dataError, "backup \(record.id): archive \(key): \(error)",
        hint: "nothing was put in place; restore from another backup ('lifeboat list')")
    default:
      return error
    }
  }
}
