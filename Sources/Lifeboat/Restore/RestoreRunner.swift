import Foundation

/// The outcome of a restore.
public struct RestoreSummary {
  public var id: String
  public var target: String
  public var restoredNames: [String]
  public var fileCount: Int
  public var bytes: Int64
  public var warnings: [String]
}

/// Restores a backup into a target directory.
///
/// Everything is extracted into a staging directory beside the results (same file system),
/// checked (archive checksum, every file's SHA-256, database integrity), and only then renamed
/// into place. On any failure the staging directory is removed and the target is untouched.
public final class RestoreRunner {
  public let repository: Repository
  public let logger: Logger
  public var spoolDirectory = NSTemporaryDirectory()
  public var allowExternalSymlinks = false
  public var onlyNames: Set<String>?

  public init(repository: Repository, logger: Logger) {
    self.repository = repository
    self.logger = logger
  }

  public func restore(selector: String, target: String) throws -> RestoreSummary {
    try restore(record: try repository.resolve(selector), target: target)
  }

  /// Restores an already resolved backup into `target`.
  public func restore(record: BackupRecord, target: String) throws -> RestoreSummary {
    logger.context.append(("backup_id", .string(record.id)))
    defer { logger.context.removeAll { $0.0 == "backup_id" } }
    let manifest = record.manifest
    let names = try selectedNames(manifest)

    let createdTarget = try prepareTarget(target)
    var succeeded = false
    // A target this run created is removed again when the restore fails (rmdir: only if empty).
    defer { if createdTarget && !succeeded { rmdir(target) } }
    for name in names {
      let destination = target + "/" + name
      var info = stat()
      if lstat(destination, &info) == 0 {
        throw LifeboatError(
          .failure, "restore target \(destination) already exists",
          hint: "restore into an empty directory, or move \(destination) aside first")
      }
    }

    let staging = target + "/.lifeboat-restore-\(record.id)-\(getpid())"
    guard mkdir(staging, 0o700) == 0 else {
      throw LifeboatError(
        .failure, "cannot create staging directory \(staging): \(String(cString: strerror(errno)))",
        hint: "check that the target directory is writable")
    }
    TemporaryFiles.registerDirectory(staging)
    defer {
      removeTree(staging)
      TemporaryFiles.unregisterDirectory(staging)
    }

    logger.info("restoring", [("target", .string(target)), ("archive_bytes", .int(manifest.archive?.size ?? 0))])
    let extractor: SafeExtractor
    do {
      extractor = try SafeExtractor(root: staging, allowExternalSymlinks: allowExternalSymlinks)
    } catch {
      throw LifeboatError(.failure, "\(error)")
    }
    var options = ArchiveChecker.Options()
    options.onlyNames = Set(names)
    options.spoolDirectory = spoolDirectory
    let checker = try ArchiveScan.makeChecker(record: record, extractor: extractor, options: options)
    _ = try ArchiveScan.run(record: record, store: repository.store, checker: checker)
    logger.info("archive verified", [("files", .int(Int64(manifest.fileCount)))])

    var warnings = checker.truncatedFiles
    for warning in warnings { logger.warning(warning) }
    for source in manifest.sources where source.kind == "database" && names.contains(source.name) {
      warnings += try checkDatabase(staging + "/" + source.name, name: source.name, id: record.id)
    }
    do {
      try extractor.applyMetadata()
    } catch let error as ExtractionError {
      throw ArchiveScan.classify(error, record: record, member: nil)
    } catch {
      throw LifeboatError(.failure, "\(error)")
    }

    // No rename may replace anything: another restore into the same target may have put a
    // name in place since the check above. On failure the names moved so far go back to
    // staging, which is then removed, so the target is as it was.
    var moved: [String] = []
    for name in names {
      do {
        try renameNoReplace(staging + "/" + name, target + "/" + name)
        moved.append(name)
      } catch {
        for done in moved.reversed() { _ = rename(target + "/" + done, staging + "/" + done) }
        throw LifeboatError(
          .failure, "cannot move \(name) into \(target): \(error); nothing was put in place",
          hint: "make sure no other restore writes into \(target), then run the restore again")
      }
    }
    let selectedFiles = manifest.files.filter { file in
      file.type == "file" && names.contains(where: { file.path == $0 || file.path.hasPrefix($0 + "/") })
    }
    succeeded = true
    return RestoreSummary(
      id: record.id, target: target, restoredNames: names, fileCount: selectedFiles.count,
      bytes: selectedFiles.reduce(0) { $0 + $1.size }, warnings: warnings)
  }

  private func selectedNames(_ manifest: Manifest) throws -> [String] {
    let all = manifest.sources.map(\.name)
    guard let only = onlyNames else { return all }
    let chosen = all.filter { only.contains($0) }
    guard !chosen.isEmpty else {
      throw LifeboatError(
        .usage, "backup \(manifest.id) has no source named \(only.sorted().joined(separator: ", "))",
        hint: "its sources are \(all.joined(separator: ", "))")
    }
    return chosen
  }

  /// Runs `integrity_check` and `foreign_key_check` on a restored database in the staging area.
  /// Journal files the check creates are removed so only the database file is moved into place.
  private func checkDatabase(_ path: String, name: String, id: String) throws -> [String] {
    let problems: [String]
    let violations: [String]
    do {
      let database = try SQLiteDatabase(path: path, readOnly: false)
      problems = try database.check(thorough: true)
      violations = try database.foreignKeyViolations()
    } catch {
      throw LifeboatError(.dataError, "backup \(id): restored database \(name) cannot be opened: \(error)")
    }
    for suffix in ["-wal", "-shm", "-journal"] { unlink(path + suffix) }
    guard problems.isEmpty else {
      throw LifeboatError(
        .dataError,
        "backup \(id): restored database \(name) failed PRAGMA integrity_check: \(problems.prefix(3).joined(separator: "; "))",
        hint: "nothing was put in place; restore from another backup")
    }
    logger.info("database integrity ok", [("database", .string(name))])
    if !violations.isEmpty {
      // NOTE: foreign key violations are reported, not fatal: an application that never turned
      // on foreign_keys may have had them before the backup, and the copy is faithful.
      let message = "restored database \(name) has \(violations.count) foreign key violation(s), e.g. \(violations[0])"
      logger.warning(message)
      return [message]
    }
    return []
  }

  /// Checks or creates the target directory; returns true when this run created it.
  private func prepareTarget(_ target: String) throws -> Bool {
    var info = stat()
    if stat(target, &info) == 0 {
      guard info.st_mode & S_IFMT == S_IFDIR else {
        throw LifeboatError(.failure, "restore target \(target) is not a directory")
      }
      return false
    }
    let parent = (target as NSString).deletingLastPathComponent
    guard stat(parent, &info) == 0 else {
      throw LifeboatError(
        .failure, "parent directory of restore target \(target) not found",
        hint: "create \(parent) first")
    }
    guard mkdir(target, 0o700) == 0 else {
      throw LifeboatError(.failure, "cannot create restore target \(target): \(String(cString: strerror(errno)))")
    }
    return true
  }
}

