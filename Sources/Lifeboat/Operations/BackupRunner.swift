import Foundation

/// The outcome of a backup run.
public struct BackupSummary: Sendable {
  public var id: String
  public var status: String
  public var archiveKey: String
  public var archiveBytes: Int64
  public var bytesRead: Int64
  public var fileCount: Int
  public var warnings: [ManifestWarning]
  public var duration: Double
  /// Requests sent to the store during the run; zero unless the store has a
  /// `CountingObjectStore` layer.
  public var requests: StoreRequestCounts
}

/// Takes one backup: snapshot the sources into a compressed archive streamed to the store,
/// then commit it by writing the manifest object.
public final class BackupRunner {
  public let plan: SnapshotPlan
  public let repository: Repository
  public let compression: CompressionOptions
  public let host: String
  public let logger: Logger
  /// The result of `SnapshotBuilder.list` when the caller already walked the sources, so the
  /// S3 part-size hint does not walk them again.
  public var listedFiles: [ManifestFile]?
  public var progress: ((Int64) -> Void)?
  /// Fault injection for drills: its `read` rate makes reads of source files fail with EIO.
  public var faults: FaultInjector?
  /// The id of the backup being taken, set once the run has chosen it (also when it fails later).
  public private(set) var backupID: String?

  public init(
    plan: SnapshotPlan, repository: Repository, compression: CompressionOptions, host: String,
    logger: Logger
  ) {
    self.plan = plan
    self.repository = repository
    self.compression = compression
    self.host = host
    self.logger = logger
  }

  public func run() throws -> BackupSummary {
    let started = Date()
    let id = try repository.newID(time: started, host: host)
    backupID = id
    logger.context.append(("backup_id", .string(id)))
    defer { logger.context.removeAll { $0.0 == "backup_id" } }
    logger.info("backup started", [("repository", .string(repository.store.location))])

    let archiveKey = repository.archiveKey(id: id, compression: compression.format)
    var sizeHint: Int64?
    if repository.store.layer(S3ObjectStore.self) != nil {
      // The sources' total size bounds the compressed archive (tar adds about 1 KiB a file).
      // Only S3 uses it, to plan part sizes, so other stores skip the extra walk.
      let files = listedFiles ?? (try? SnapshotBuilder.list(plan))?.files ?? []
      sizeHint = files.reduce(Int64(1 << 20)) { $0 + $1.size + 1024 }
    }
    let writer = try repository.store.makeWriter(key: archiveKey, sizeHint: sizeHint)
    var committed = false
    defer { if !committed { writer.abort() } }

    // tar -> compressor -> hash and count -> [age, hash and count] -> store.
    let encrypting = repository.keys.encrypts
      ? try EncryptingSink(recipients: repository.keys.recipients, next: writer) : nil
    let archiveHash = HashingSink(next: encrypting ?? writer)
    let compressor = try Compression.makeCompressor(compression, next: archiveHash)
    let tar = TarWriter(sink: compressor)
    let builder = SnapshotBuilder(plan: plan, tar: tar, logger: logger)
    builder.progress = progress
    if let faults { builder.readFault = { faults.shouldFail(.read) } }
    let snapshot = try builder.run()

    // An archive holding only a manifest is never a successful backup.
    if snapshot.skippedUnreadable && !snapshot.files.contains(where: { $0.type == "file" }) {
      throw LifeboatError(
        .failure, "no source could be read; no backup was recorded",
        hint: "check the permissions of the sources listed in the warnings above")
    }
    let sourceRoots = Set(snapshot.sources.filter { $0.kind == "tree" }.map(\.name))
    if !snapshot.files.contains(where: { !sourceRoots.contains($0.path) }) {
      throw LifeboatError(
        .failure, "nothing to back up: the sources are empty or everything in them is excluded; no backup was recorded",
        hint: "check the source paths and the exclude patterns ('lifeboat backup --dry-run' lists what would be archived)")
    }

    let status: String
    if snapshot.skippedUnreadable {
      status = "partial"
    } else if !snapshot.warnings.isEmpty {
      status = "warnings"
    } else {
      status = "complete"
    }
    var manifest = Manifest(
      id: id, host: host, lifeboatVersion: LifeboatVersion.current,
      startedAt: Timestamp.iso8601(started), finishedAt: Timestamp.iso8601(Date()), status: status,
      compression: compression.format.rawValue, sources: snapshot.sources, files: snapshot.files,
      warnings: snapshot.warnings, fileCount: snapshot.files.filter { $0.type == "file" }.count,
      totalBytes: snapshot.files.reduce(0) { $0 + $1.size }, archive: nil)

    // The archive's own copy of the manifest and a checksum list that sha256sum -c reads.
    try appendMember(tar, name: "manifest.json", content: try manifest.encoded(), time: started)
    try appendMember(tar, name: "SHA256SUMS", content: manifest.checksumList(), time: started)
    try tar.finish()

    let stored = try writer.commit()
    committed = true
    manifest.archive = ManifestArchive(
      key: archiveKey, size: archiveHash.byteCount, sha256: archiveHash.digest.hexString,
      compression: compression.format.rawValue)
    if let encrypting {
      manifest.archive?.storedSize = encrypting.stored.byteCount
      manifest.archive?.storedSHA256 = encrypting.stored.digest.hexString
    }
    let sent = encrypting?.stored.byteCount ?? archiveHash.byteCount
    guard stored.size == sent else {
      try? repository.store.delete(key: archiveKey)
      throw LifeboatError(
        .unavailable,
        "the store kept \(stored.size) bytes of archive \(archiveKey), but \(sent) were sent",
        hint: "no backup was recorded; check the storage and run the backup again")
    }

    // The manifest object goes last: its presence is what makes the backup exist.
    try repository.commitManifest(manifest)

    let summary = BackupSummary(
      id: id, status: status, archiveKey: archiveKey, archiveBytes: archiveHash.byteCount,
      bytesRead: snapshot.bytesRead, fileCount: manifest.fileCount, warnings: snapshot.warnings,
      duration: Date().timeIntervalSince(started),
      requests: repository.store.layer(CountingObjectStore.self)?.counts ?? StoreRequestCounts())
    logger.info("backup stored", [
      ("archive", .string(archiveKey)), ("archive_bytes", .int(summary.archiveBytes)),
      ("bytes_read", .int(summary.bytesRead)), ("files", .int(Int64(summary.fileCount))),
    ])
    return summary
  }

  private func appendMember(_ tar: TarWriter, name: String, content: [UInt8], time: Date) throws {
    var entry = TarEntry(path: Array(name.utf8), type: .file, mode: 0o644)
    entry.size = Int64(content.count)
    entry.modificationTime = Int64(time.timeIntervalSince1970)
    entry.uid = getuid()
    entry.gid = getgid()
    try tar.writeHeader(entry)
    try tar.writeData(content)
  }
}

public enum LifeboatVersion {
  public static let current = "0.1.0"
}
