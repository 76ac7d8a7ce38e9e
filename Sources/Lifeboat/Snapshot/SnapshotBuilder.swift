import Foundation

/// The sources of one backup and how to read them.
public struct SnapshotPlan: Sendable {
  public var databases: [String]
  public var trees: [String]
  public var selection: SourceSelection
  public var spoolDirectory: String
  public var busyTimeout: Double
  /// Archive names given explicitly (`logs=/var/log/app`), by absolute source path. Other
  /// sources are named by their last path component.
  public var names: [String: String] = [:]

  /// Returns the top-level name of a source in the archive and in restores.
  public func name(of source: String) -> String {
    names[source] ?? (source as NSString).lastPathComponent
  }

  /// Splits a source setting `NAME=PATH` into its parts. A value whose text before the first `=`
  /// is empty or contains `/` is a plain path, so `/data/a=b` stays one path.
  public static func parseSource(_ text: String) -> (name: String?, path: String) {
    guard let equals = text.firstIndex(of: "=") else { return (nil, text) }
    let name = String(text[..<equals])
    let path = String(text[text.index(after: equals)...])
    guard !name.isEmpty, !name.contains("/"), name != ".", name != "..", !path.isEmpty else {
      return (nil, text)
    }
    return (name, path)
  }

  /// Checks the sources exist and their archive names are distinct; nothing is read yet.
  public func validate(configuration: Configuration?) throws {
    var names: [String: String] = [:]
    let reserved: Set<String> = ["manifest.json", "SHA256SUMS"]
    func origin(_ name: String, _ path: String) -> String {
      guard let values = configuration?.settingValues(name),
        let value = values.first(where: { $0.text == path || $0.text.hasSuffix("=" + path) })
      else { return "" }
      return "\(value.origin): "
    }

    guard !databases.isEmpty || !trees.isEmpty else {
      throw LifeboatError(
        .usage, "nothing to back up: no database and no path given",
        hint: "pass --db FILE and/or --path DIR, or set them in [source] of the config file")
    }
    for database in databases {
      var info = stat()
      guard stat(database, &info) == 0 else {
        throw LifeboatError(
          .failure, "\(origin("source.database", database))database \(database) not found",
          hint: "check the path of the database in [source] database or --db")
      }
      let name = self.name(of: database)
      if let other = names[name] ?? (reserved.contains(name) ? "a lifeboat file" : nil) {
        throw LifeboatError(
          .configuration, "database \(database) and \(other) would both be stored as '\(name)'",
          hint: "give one of them its own name: --path NAME=PATH, or 'path = NAME=PATH' in [source]")
      }
      names[name] = database
      try SQLiteSnapshot.preflight(database)
    }
    for tree in trees {
      var info = stat()
      guard stat(tree, &info) == 0 else {
        throw LifeboatError(
          .failure, "\(origin("source.path", tree))source directory \(tree) not found",
          hint: "check the path in [source] path or --path")
      }
      guard info.st_mode & S_IFMT == S_IFDIR else {
        throw LifeboatError(
          .failure, "\(origin("source.path", tree))source \(tree) is not a directory",
          hint: "list directories with --path and databases with --db")
      }
      let name = self.name(of: tree)
      // realpath catches a symlink to / as well as "/" itself.
      let resolved = realpath(tree, nil).map { pointer -> String in
        defer { free(pointer) }
        return String(cString: pointer)
      }
      guard name != "/" && !name.isEmpty && resolved != "/" else {
        throw LifeboatError(.configuration, "the root directory cannot be a source; name a subdirectory")
      }
      guard name != "." && name != ".." else {
        throw LifeboatError(
          .configuration, "source \(tree) ends in '\(name)', which cannot name it in the archive",
          hint: "give the directory without '.' or '..', or name it: --path NAME=\(tree)")
      }
      if let other = names[name] ?? (reserved.contains(name) ? "a lifeboat file" : nil) {
        throw LifeboatError(
          .configuration, "source \(tree) and \(other) would both be stored as '\(name)'",
          hint: "give one of them its own name: --path NAME=PATH, or 'path = NAME=PATH' in [source]")
      }
      names[name] = tree
    }
  }
}

/// The outcome of writing the sources into a tar stream.
public struct SnapshotResult {
  public var sources: [ManifestSource] = []
  public var files: [ManifestFile] = []
  public var warnings: [ManifestWarning] = []
  /// True when a source or part of one could not be read at all.
  public var skippedUnreadable = false
  public var bytesRead: Int64 = 0
}

/// Writes the databases and trees of a plan into a tar stream, hashing every file on the way.
public final class SnapshotBuilder {
  private let plan: SnapshotPlan
  private let tar: TarWriter
  private let logger: Logger
  private var result = SnapshotResult()
  private var buffer = [UInt8](repeating: 0, count: 1 << 20)
  private let hasher = SHA256Hasher()
  /// Hard links: the archive path of the first link to each (device, inode).
  private var linkTargets: [FileIdentity: [UInt8]] = [:]
  private var treeDevice: UInt = 0
  /// Files up to this size are read whole before their header is written, so a change while
  /// reading can be retried instead of recorded.
  private let smallFileLimit = 1 << 20
  /// Called with the running count of bytes read, for progress display.
  public var progress: ((Int64) -> Void)?
  /// Lists what would be archived, with sizes from `stat`, without reading any file or
  /// copying any database. Nothing is written to the tar stream.
  public var listOnly = false

  /// Walks the plan's sources with `stat` only (see `listOnly`) and returns what a backup would
  /// archive: for `--dry-run`, the progress total and S3's part-size hint.
  public static func list(_ plan: SnapshotPlan, logger: Logger = Logger.disabled()) throws -> SnapshotResult {
    let builder = SnapshotBuilder(plan: plan, tar: TarWriter(sink: DiscardingSink()), logger: logger)
    builder.listOnly = true
    return try builder.run()
  }
  /// Returns true for a read of a source file that is to fail with EIO (fault injection drills).
  public var readFault: (() -> Bool)?

  private struct FileIdentity: Hashable {
    var device: UInt
    var inode: UInt
  }

  public init(plan: SnapshotPlan, tar: TarWriter, logger: Logger) {
    self.plan = plan
    self.tar = tar
    self.logger = logger
  }

  /// Archives every source. Per-file problems become warnings; a failure to copy a database
  /// or to write the stream throws.
  public func run() throws -> SnapshotResult {
    guard !listOnly, !plan.databases.isEmpty, !plan.trees.isEmpty else {
      for database in plan.databases { try archiveDatabase(database, copy: nil) }
      for tree in plan.trees { try archiveTree(tree) }
      return result
    }
    // The online copy uses one core and no compression; archiving the trees meanwhile keeps the
    // other cores busy. The databases follow the trees in the archive.
    let copies = DatabaseCopies(plan: plan, logger: logger)
    defer { copies.discardUnused() }
    for tree in plan.trees { try archiveTree(tree) }
    for database in plan.databases { try archiveDatabase(database, copy: try copies.wait(for: database)) }
    return result
  }

  // MARK: Databases

  /// Archives one database from `copy`, a finished online copy, or copies it first when nil.
  private func archiveDatabase(_ source: String, copy prepared: (path: String, info: DatabaseInfo)?) throws {
    let name = plan.name(of: source)
    if listOnly {
      var info = stat()
      stat(source, &info)
      var entry = TarEntry(path: Array(name.utf8), type: .file, mode: UInt32(info.st_mode) & 0o7777)
      fillOwnerAndTime(&entry, info)
      entry.size = Int64(info.st_size)
      result.sources.append(ManifestSource(name: name, kind: "database", path: source, database: nil))
      result.files.append(manifestFile(entry, digest: nil))
      return
    }
    let copy = try prepared ?? DatabaseCopies.copy(source, plan: plan, logger: logger)
    defer { SQLiteSnapshot.removeDatabaseFiles(copy.path) }

    var sourceInfo = stat()
    stat(source, &sourceInfo)
    let fd = open(copy.path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw SystemError("open", path: copy.path) }
    defer { close(fd) }
    var copyInfo = stat()
    fstat(fd, &copyInfo)

    var entry = TarEntry(path: Array(name.utf8), type: .file, mode: UInt32(sourceInfo.st_mode) & 0o7777)
    fillOwnerAndTime(&entry, sourceInfo)
    entry.size = Int64(copyInfo.st_size)
    try tar.writeHeader(entry)
    let (digest, read, readError) = try streamFile(fd: fd, size: entry.size, path: copy.path)
    if let readError {
      throw LifeboatError(
        .failure, "reading the temporary copy of \(source) failed: \(String(cString: strerror(readError)))")
    }
    guard read == entry.size else {
      throw LifeboatError(.failure, "the temporary copy of \(source) changed while it was archived")
    }
    result.sources.append(ManifestSource(name: name, kind: "database", path: source, database: copy.info))
    result.files.append(manifestFile(entry, digest: digest))
  }

  // MARK: Trees

  private func archiveTree(_ root: String) throws {
    let name = plan.name(of: root)
    var info = stat()
    guard lstat(root, &info) == 0 || stat(root, &info) == 0 else {
      warn(root, "source directory vanished before it was read", unreadable: true)
      return
    }
    // A source given as a symlink to a directory is followed once, at the top.
    if info.st_mode & S_IFMT == S_IFLNK { stat(root, &info) }
    treeDevice = UInt(info.st_dev)
    result.sources.append(ManifestSource(name: name, kind: "tree", path: root, database: nil))
    try archiveDirectory(FilePath(root), archivePath: Array(name.utf8), info: info)
  }

  private func archiveDirectory(_ path: FilePath, archivePath: [UInt8], info: stat) throws {
    var entry = TarEntry(path: archivePath, type: .directory, mode: UInt32(info.st_mode) & 0o7777)
    fillOwnerAndTime(&entry, info)

    let children: [[UInt8]]
    do {
      children = try listDirectory(path)
    } catch let error as SystemError {
      if error.errno == ENOENT {
        warn(path.description, "directory vanished while the backup read it", unreadable: false)
      } else {
        warn(path.description, "directory skipped: \(String(cString: strerror(error.errno)))", unreadable: true)
      }
      return
    }
    try writeHeader(entry)
    result.files.append(manifestFile(entry, digest: nil))

    for child in children {
      let childPath = path.appending(child)
      let childArchivePath = archivePath + [UInt8(ascii: "/")] + child
      if let pattern = plan.selection.excludingPattern(archivePath: childArchivePath, absolutePath: childPath) {
        logger.debug("excluded", [("path", .string(childPath.description)), ("rule", .string(pattern))])
        continue
      }
      var childInfo = stat()
      let status = childPath.withCString { lstat($0, &childInfo) }
      guard status == 0 else {
        if errno == ENOENT {
          warn(childPath.description, "vanished before it was read", unreadable: false)
        } else {
          warn(childPath.description, "skipped: \(String(cString: strerror(errno)))", unreadable: true)
        }
        continue
      }
      switch childInfo.st_mode & S_IFMT {
      case S_IFDIR:
        if plan.selection.oneFileSystem && UInt(childInfo.st_dev) != treeDevice {
          var mountPoint = TarEntry(path: childArchivePath, type: .directory, mode: UInt32(childInfo.st_mode) & 0o7777)
          fillOwnerAndTime(&mountPoint, childInfo)
          try writeHeader(mountPoint)
          result.files.append(manifestFile(mountPoint, digest: nil))
          logger.info("not crossing into another file system", [("path", .string(childPath.description))])
        } else {
          try archiveDirectory(childPath, archivePath: childArchivePath, info: childInfo)
        }
      case S_IFREG:
        try archiveFile(childPath, archivePath: childArchivePath, info: childInfo)
      case S_IFLNK:
        try archiveSymlink(childPath, archivePath: childArchivePath, info: childInfo)
      default:
        logger.info("special file not archived", [("path", .string(childPath.description))])
      }
    }
  }

  private func archiveSymlink(_ path: FilePath, archivePath: [UInt8], info: stat) throws {
    var target = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
    let length = path.withCString { name in
      target.withUnsafeMutableBufferPointer { buffer in
        buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
          readlink(name, $0, buffer.count)
        }
      }
    }
    guard length >= 0 else {
      let reason = errno == ENOENT ? "vanished before it was read" : "skipped: \(String(cString: strerror(errno)))"
      warn(path.description, reason, unreadable: errno != ENOENT)
      return
    }
    var entry = TarEntry(path: archivePath, type: .symlink, mode: 0o777)
    fillOwnerAndTime(&entry, info)
    entry.linkTarget = Array(target[..<length])
    if !MemberPath.symlinkStaysInside(linkPath: archivePath, target: entry.linkTarget) {
      logger.info("symlink points outside its source; restoring it needs --allow-external-symlinks", [
        ("path", .string(path.description)), ("target", .string(FilePath.display(entry.linkTarget))),
      ])
    }
    try writeHeader(entry)
    result.files.append(manifestFile(entry, digest: nil))
  }

  private func archiveFile(_ path: FilePath, archivePath: [UInt8], info: stat) throws {
    let identity = FileIdentity(device: UInt(info.st_dev), inode: UInt(info.st_ino))
    if info.st_nlink > 1, let first = linkTargets[identity] {
      var entry = TarEntry(path: archivePath, type: .hardLink, mode: UInt32(info.st_mode) & 0o7777)
      fillOwnerAndTime(&entry, info)
      entry.linkTarget = first
      try writeHeader(entry)
      result.files.append(manifestFile(entry, digest: nil))
      return
    }

    if listOnly {
      var entry = TarEntry(path: archivePath, type: .file, mode: UInt32(info.st_mode) & 0o7777)
      fillOwnerAndTime(&entry, info)
      entry.size = Int64(info.st_size)
      result.files.append(manifestFile(entry, digest: nil))
      if info.st_nlink > 1 { linkTargets[identity] = archivePath }
      return
    }
    let fd = path.withCString { open($0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK) }
    guard fd >= 0 else {
      if errno == ENOENT {
        warn(path.description, "vanished before it was read", unreadable: false)
      } else {
        warn(path.description, "skipped: \(String(cString: strerror(errno)))", unreadable: true)
      }
      return
    }
    defer { close(fd) }
    posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))

    var before = stat()
    fstat(fd, &before)
    guard before.st_mode & S_IFMT == S_IFREG else {
      warn(path.description, "replaced by a non-regular file while the backup ran", unreadable: false)
      return
    }

    if Int(before.st_size) <= smallFileLimit {
      try archiveSmallFile(fd: fd, path: path, archivePath: archivePath, info: before)
    } else {
      try archiveLargeFile(fd: fd, path: path, archivePath: archivePath, info: before)
    }
    if info.st_nlink > 1 { linkTargets[identity] = archivePath }
  }

  /// Reads a small file whole, and reads it again (up to three times) if it changed meanwhile.
  private func archiveSmallFile(fd: Int32, path: FilePath, archivePath: [UInt8], info: stat) throws {
    var current = info
    var attempt = 0
    while true {
      attempt += 1
      var content: [UInt8] = []
      content.reserveCapacity(Int(current.st_size))
      lseek(fd, 0, SEEK_SET)
      while true {
        let count = readSource(fd, buffer.count)
        if count < 0 {
          if errno == EINTR || errno == EAGAIN { continue }
          warn(path.description, "skipped: read failed: \(String(cString: strerror(errno)))", unreadable: true)
          return
        }
        if count == 0 { break }
        content.append(contentsOf: buffer[0..<count])
        // A file growing without end must not fill memory.
        if content.count > smallFileLimit * 2 { break }
      }
      var after = stat()
      fstat(fd, &after)
      let stable = after.st_size == current.st_size && sameTime(after.st_mtim, current.st_mtim)
        && Int(after.st_size) == content.count
      if stable || attempt == 3 {
        var entry = TarEntry(path: archivePath, type: .file, mode: UInt32(after.st_mode) & 0o7777)
        fillOwnerAndTime(&entry, after)
        entry.size = Int64(content.count)
        try tar.writeHeader(entry)
        try tar.writeData(content)
        result.bytesRead += Int64(content.count)
        progress?(result.bytesRead)
        var file = manifestFile(entry, digest: SHA256Hasher.hash(content))
        if !stable {
          file.changed = "kept changing while read; stored the last read (\(content.count) bytes)"
          warn(path.description, "changed while read three times; stored the last read", unreadable: false)
        }
        result.files.append(file)
        return
      }
      current = after
    }
  }

  /// Streams a large file under a header sized from `fstat`. A file that grows is stored up to
  /// that size, which is a prefix of it. A file that shrinks is padded with zeros, because the
  /// header already promised its size. Both are flagged in the manifest.
  private func archiveLargeFile(fd: Int32, path: FilePath, archivePath: [UInt8], info: stat) throws {
    var entry = TarEntry(path: archivePath, type: .file, mode: UInt32(info.st_mode) & 0o7777)
    fillOwnerAndTime(&entry, info)
    entry.size = Int64(info.st_size)
    try tar.writeHeader(entry)
    let (digest, read, readError) = try streamFile(fd: fd, size: entry.size, path: path.description)

    var after = stat()
    fstat(fd, &after)
    var file = manifestFile(entry, digest: digest)
    if let readError {
      let note = "read failed after \(read) of \(entry.size) bytes: \(String(cString: strerror(readError))); the rest stored is zero padding"
      file.changed = note
      file.validSize = read
      warn(path.description, note, unreadable: true)
    } else if read < entry.size {
      let note = "shrank while read from \(entry.size) to \(read) bytes; the last \(entry.size - read) bytes stored are zero padding"
      file.changed = note
      file.validSize = read
      warn(path.description, note, unreadable: false)
    } else if after.st_size != info.st_size || !sameTime(after.st_mtim, info.st_mtim) {
      let note = after.st_size > info.st_size
        ? "grew while read; stored its first \(entry.size) bytes"
        : "changed while read; the stored copy may mix old and new content"
      file.changed = note
      warn(path.description, note, unreadable: false)
    }
    result.files.append(file)
  }

  /// Copies exactly `size` bytes (or fewer, then zero padding) from `fd` into the tar stream.
  /// Returns the SHA-256 of what was stored, the number of bytes really read, and the `errno` of
  /// a read that failed, which ends the reading.
  private func streamFile(fd: Int32, size: Int64, path: String) throws -> ([UInt8], Int64, Int32?) {
    var remaining = size
    var read: Int64 = 0
    var readError: Int32?
    while remaining > 0 {
      let wanted = Int(min(Int64(buffer.count), remaining))
      let count = readSource(fd, wanted)
      if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
      if count < 0 { readError = errno }
      if count <= 0 { break }
      try buffer.withUnsafeBytes { raw in
        let chunk = UnsafeRawBufferPointer(rebasing: raw[0..<count])
        hasher.update(chunk)
        try tar.writeData(chunk)
      }
      remaining -= Int64(count)
      read += Int64(count)
      result.bytesRead += Int64(count)
      progress?(result.bytesRead)
    }
    if remaining > 0 {
      let zeros = [UInt8](repeating: 0, count: 64 * 1024)
      while remaining > 0 {
        let count = Int(min(Int64(zeros.count), remaining))
        try zeros.withUnsafeBytes { raw in
          let chunk = UnsafeRawBufferPointer(rebasing: raw[0..<count])
          hasher.update(chunk)
          try tar.writeData(chunk)
        }
        remaining -= Int64(count)
      }
    }
    return (hasher.finalize(), read, readError)
  }

  /// Reads up to `count` bytes of a source file into `buffer`, as read(2) does, or fails with EIO
  /// when `readFault` picks this read.
  private func readSource(_ fd: Int32, _ count: Int) -> Int {
    if let readFault, readFault() {
      errno = EIO
      return -1
    }
    return buffer.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, count) }
  }

  // MARK: Helpers

  /// Writes a header for a member without data, unless only listing.
  private func writeHeader(_ entry: TarEntry) throws {
    if !listOnly { try tar.writeHeader(entry) }
  }

  private func listDirectory(_ path: FilePath) throws -> [[UInt8]] {
    try directoryEntries(path)
  }

  private func fillOwnerAndTime(_ entry: inout TarEntry, _ info: stat) {
    entry.uid = info.st_uid
    entry.gid = info.st_gid
    entry.userName = OwnerNames.user(info.st_uid)
    entry.groupName = OwnerNames.group(info.st_gid)
    entry.modificationTime = Int64(info.st_mtim.tv_sec)
    entry.modificationNanoseconds = Int32(info.st_mtim.tv_nsec)
  }

  private func sameTime(_ a: timespec, _ b: timespec) -> Bool {
    a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec
  }

  private func warn(_ path: String, _ message: String, unreadable: Bool) {
    if unreadable { result.skippedUnreadable = true }
    result.warnings.append(ManifestWarning(path: path, message: message))
    logger.warning(message, [("path", .string(path))])
  }

  private func manifestFile(_ entry: TarEntry, digest: [UInt8]?) -> ManifestFile {
    let name = ManifestFile.encodeName(entry.path)
    var file = ManifestFile(
      path: name.text, pathBase64: name.base64, type: entry.type.name, size: entry.size,
      mode: String(format: "%04o", entry.mode), mtime: Timestamp.iso8601(Date(timeIntervalSince1970: TimeInterval(entry.modificationTime))),
      mtimeNanoseconds: entry.modificationNanoseconds == 0 ? nil : entry.modificationNanoseconds,
      uid: entry.uid, gid: entry.gid, sha256: digest?.hexString)
    if entry.type == .symlink || entry.type == .hardLink {
      let target = ManifestFile.encodeName(entry.linkTarget)
      file.linkTarget = target.text
      file.linkTargetBase64 = target.base64
    }
    return file
  }
}

/// Online copies of a plan's databases, made one after another on a background thread.
final class DatabaseCopies {
  private let condition = NSCondition()
  private var results: [String: Result<(path: String, info: DatabaseInfo), Error>] = [:]
  private var taken = Set<String>()

  init(plan: SnapshotPlan, logger: Logger) {
    let thread = Thread { [self] in
      for database in plan.databases {
        let outcome = Result { try DatabaseCopies.copy(database, plan: plan, logger: logger) }
        condition.lock()
        results[database] = outcome
        condition.broadcast()
        condition.unlock()
      }
    }
    thread.name = "lifeboat-database-copy"
    thread.start()
  }

  /// Copies one database with the online backup API and logs how long it took.
  static func copy(_ source: String, plan: SnapshotPlan, logger: Logger) throws -> (path: String, info: DatabaseInfo) {
    let started = Date()
    let copy = try SQLiteSnapshot.copy(
      source: source, spoolDirectory: plan.spoolDirectory, busyTimeout: plan.busyTimeout, logger: logger)
    logger.info("database copied", [
      ("database", .string(source)), ("pages", .int(copy.info.pageCount)),
      ("bytes", .int(copy.info.pageSize * copy.info.pageCount)),
      ("duration_s", .double(Date().timeIntervalSince(started))),
    ])
    return copy
  }

  /// Waits for the copy of `database`; the caller deletes it.
  func wait(for database: String) throws -> (path: String, info: DatabaseInfo) {
    condition.lock()
    defer { condition.unlock() }
    while true {
      if let outcome = results[database] {
        taken.insert(database)
        return try outcome.get()
      }
      condition.wait()
    }
  }

  /// Deletes the finished copies that no caller took, after a failure. A copy still running is deleted
  /// at exit, because every spool file is registered with `TemporaryFiles`.
  func discardUnused() {
    condition.lock()
    defer { condition.unlock() }
    for (database, outcome) in results where !taken.contains(database) {
      if case .success(let copy) = outcome { SQLiteSnapshot.removeDatabaseFiles(copy.path) }
      taken.insert(database)
    }
  }
}

/// Cached user and group names for tar headers.
enum OwnerNames {
  nonisolated(unsafe) private static var users: [UInt32: String] = [:]
  nonisolated(unsafe) private static var groups: [UInt32: String] = [:]
  private static let lock = NSLock()

  static func user(_ uid: UInt32) -> String {
    lock.lock()
    defer { lock.unlock() }
    if let name = users[uid] { return name }
    let name = getpwuid(uid).map { String(cString: $0.pointee.pw_name) } ?? ""
    users[uid] = name
    return name
  }

  static func group(_ gid: UInt32) -> String {
    lock.lock()
    defer { lock.unlock() }
    if let name = groups[gid] { return name }
    let name = getgrgid(gid).map { String(cString: $0.pointee.gr_name) } ?? ""
    groups[gid] = name
    return name
  }
}
