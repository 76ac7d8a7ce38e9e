import Foundation

/// Works out a `RestorePlan` from a backup's manifest and the machine's current state.
/// It only reads: nothing is created, moved or downloaded.
public enum RestorePlanner {
  /// The suffixes of the files SQLite keeps beside a database.
  public static let journalSuffixes = ["-wal", "-shm", "-journal"]

  /// Plans the in-place restore of the sources named `names` (see `RestoreSelection`).
  ///
  /// - Parameter time: the restore's start, which names the rollback directories.
  public static func plan(
    record: BackupRecord, names: [String], settings: RestoreSettings, time: Date = Date()
  ) -> RestorePlan {
    let manifest = record.manifest
    let suffix = "\(record.id)-\(Timestamp.compact(time))"
    var blockers: [LifeboatError] = []
    var notes: [String] = []
    var items: [RestorePlan.Item] = []
    var directoriesToCreate: [String] = []

    for source in manifest.sources where names.contains(source.name) {
      guard source.path.hasPrefix("/") else {
        blockers.append(LifeboatError(
          .dataError, "backup \(record.id) records no absolute path for source \(source.name)",
          hint: "restore it with --target DIR and copy it into place by hand"))
        continue
      }
      let (destination, viaSymlink) = resolveDestination(source.path)
      if viaSymlink {
        notes.append("\(source.path) is a symlink; \(source.name) is restored into its target \(destination)")
      }
      let parent = (destination as NSString).deletingLastPathComponent
      for directory in missingDirectories(parent) where !directoriesToCreate.contains(directory) {
        directoriesToCreate.append(directory)
      }
      let rollback = settings.rollbackDirectory.map { "\($0)/lifeboat-rollback-\(suffix)" }
        ?? "\(parent)/.lifeboat-rollback-\(suffix)"
      let (bytes, entries) = restoredSize(of: source.name, in: manifest)
      items.append(RestorePlan.Item(
        name: source.name, kind: source.kind, destination: destination,
        stagingDirectory: "\(parent)/.lifeboat-staging-\(record.id)-\(getpid())",
        rollbackDirectory: rollback, restoredBytes: bytes, restoredEntries: entries,
        existing: existingPaths(destination, isDatabase: source.kind == "database")))
    }

    blockers += nestingProblems(items, rollbackDirectory: settings.rollbackDirectory)
    if let directory = settings.rollbackDirectory {
      blockers += rollbackDirectoryProblems(directory, items: items)
    }

    let extensionName = CompressionFormat(rawValue: manifest.archive?.compression ?? "")?.fileExtension ?? ".tar"
    let downloadDirectory = settings.spoolDirectory
      ?? items.first.map { ($0.destination as NSString).deletingLastPathComponent } ?? "/var/tmp"
    let downloadPath = "\(downloadDirectory)/.lifeboat-download-\(record.id)-\(getpid())\(extensionName)"
    let space = spaceChecks(items, download: (downloadDirectory, manifest.archive?.size ?? 0))
    for check in space where !check.isSufficient {
      blockers.append(LifeboatError(
        .failure,
        "not enough free space on the file system of \(check.directory): the restore needs \(formatBytes(check.required)), \(formatBytes(check.available)) are available",
        hint: "free space there, or restore with --only to restore fewer sources"))
    }

    var plan = RestorePlan(
      record: record, items: items, downloadPath: downloadPath, space: space,
      openFiles: OpenFileScanner.Result(holders: [], uninspected: 0),
      directoriesToCreate: directoriesToCreate, settings: settings, blockers: blockers,
      notes: notes)
    plan.openFiles = OpenFileScanner.holders(of: plan.databasePaths)
    if !plan.openFiles.holders.isEmpty && settings.stopCommand == nil {
      plan.blockers.append(openDatabaseError(plan.openFiles.holders))
    }
    if plan.openFiles.uninspected > 0 && !plan.databasePaths.isEmpty {
      plan.notes.append(
        "\(plan.openFiles.uninspected) processes of other users could not be checked for open database files; run as root for a complete check")
    }
    return plan
  }

  /// Returns the error for a database that running processes have open.
  public static func openDatabaseError(_ holders: [OpenFileHolder], afterStop: Bool = false) -> LifeboatError {
    let list = holders.prefix(5).map { "PID \($0.pid) (\($0.command)) has \($0.path) open" }
      .joined(separator: "; ")
    if afterStop {
      return LifeboatError(
        .failure, "the stop command finished but \(list)",
        hint: "make stop_command in [restore] wait until the application has exited")
    }
    return LifeboatError(
      .failure,
      "refusing to restore over a database in use: \(list); that process would keep writing to the replaced file",
      hint: "stop the application first, or set stop_command and start_command in [restore]")
  }

  // MARK: Destinations

  private static func resolveDestination(_ path: String) -> (String, Bool) {
    var info = stat()
    if lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK, let resolved = realPath(path) {
      return (resolved, true)
    }
    let parent = (path as NSString).deletingLastPathComponent
    let name = (path as NSString).lastPathComponent
    if let resolvedParent = realPath(parent) { return (normalizeSlashes(resolvedParent + "/" + name), false) }
    return (path, false)
  }

  private static func realPath(_ path: String) -> String? {
    guard let resolved = realpath(path, nil) else { return nil }
    defer { free(resolved) }
    return String(cString: resolved)
  }

  /// Lists the missing directories from the nearest existing ancestor down to `directory`,
  /// outermost first.
  private static func missingDirectories(_ directory: String) -> [String] {
    var missing: [String] = []
    var current = directory
    var info = stat()
    while current != "/" && stat(current, &info) != 0 {
      missing.insert(current, at: 0)
      current = (current as NSString).deletingLastPathComponent
    }
    return missing
  }

  private static func nearestExistingDirectory(_ path: String) -> String {
    var current = path
    var info = stat()
    while current != "/" && stat(current, &info) != 0 {
      current = (current as NSString).deletingLastPathComponent
    }
    return current
  }

  /// Lists the paths at `destination` that step 4 moves aside: the file or tree itself and, for a
  /// database, the journal files beside it.
  static func existingPaths(_ destination: String, isDatabase: Bool) -> [RestorePlan.ExistingPath] {
    let candidates = isDatabase ? [destination] + journalSuffixes.map { destination + $0 } : [destination]
    return candidates.compactMap { path in
      var info = stat()
      guard lstat(path, &info) == 0 else { return nil }
      let (bytes, entries) = treeSize(FilePath(path), info)
      return RestorePlan.ExistingPath(path: path, bytes: bytes, entries: entries)
    }
  }

  /// Sums the sizes of regular files and counts the entries below `path`, without following
  /// symlinks. Unreadable directories count as empty.
  private static func treeSize(_ path: FilePath, _ info: stat) -> (Int64, Int) {
    guard info.st_mode & S_IFMT == S_IFDIR else {
      return (info.st_mode & S_IFMT == S_IFREG ? Int64(info.st_size) : 0, 1)
    }
    var bytes: Int64 = 0
    var entries = 1
    for name in (try? directoryEntries(path)) ?? [] {
      let child = path.appending(name)
      var childInfo = stat()
      guard child.withCString({ lstat($0, &childInfo) }) == 0 else { continue }
      let (childBytes, childEntries) = treeSize(child, childInfo)
      bytes += childBytes
      entries += childEntries
    }
    return (bytes, entries)
  }

  private static func restoredSize(of name: String, in manifest: Manifest) -> (Int64, Int) {
    var bytes: Int64 = 0
    var entries = 0
    for file in manifest.files where file.path == name || file.path.hasPrefix(name + "/") {
      entries += 1
      if file.type == "file" { bytes += file.size }
    }
    return (bytes, entries)
  }

  // MARK: Checks

  /// In-place restore renames whole sources, so one source inside another (or the rollback
  /// directory inside a source) would be moved twice.
  private static func nestingProblems(_ items: [RestorePlan.Item], rollbackDirectory: String?) -> [LifeboatError] {
    var problems: [LifeboatError] = []
    for outer in items {
      for inner in items where inner.name != outer.name && inner.destination.hasPrefix(outer.destination + "/") {
        problems.append(LifeboatError(
          .failure,
          "source \(inner.name) (\(inner.destination)) lies inside source \(outer.name) (\(outer.destination)); an in-place restore cannot move them separately",
          hint: "restore one of them with --only, or restore with --target DIR and copy by hand"))
      }
      if let rollbackDirectory, rollbackDirectory == outer.destination || rollbackDirectory.hasPrefix(outer.destination + "/") {
        problems.append(LifeboatError(
          .configuration, "rollback_dir \(rollbackDirectory) lies inside \(outer.destination), which the restore moves aside",
          hint: "choose a rollback_dir outside every restored source"))
      }
    }
    return problems
  }

  /// Moving aside is a rename, so a configured rollback directory must exist on the same file
  /// system as every destination.
  private static func rollbackDirectoryProblems(_ directory: String, items: [RestorePlan.Item]) -> [LifeboatError] {
    var info = stat()
    guard stat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
      return [LifeboatError(
        .configuration, "rollback_dir \(directory) not found",
        hint: "create it on the same file system as the restored files, or leave rollback_dir unset")]
    }
    var problems: [LifeboatError] = []
    for item in items {
      var parentInfo = stat()
      let parent = nearestExistingDirectory((item.destination as NSString).deletingLastPathComponent)
      guard stat(parent, &parentInfo) == 0 else { continue }
      if parentInfo.st_dev != info.st_dev {
        problems.append(LifeboatError(
          .configuration,
          "rollback_dir \(directory) is on another file system than \(item.destination), so the current files cannot be renamed into it",
          hint: "leave rollback_dir unset to use a directory beside each destination"))
      }
    }
    return problems
  }

  private static func spaceChecks(
    _ items: [RestorePlan.Item], download: (directory: String, bytes: Int64)
  ) -> [RestorePlan.SpaceCheck] {
    var checks: [UInt64: RestorePlan.SpaceCheck] = [:]
    var order: [UInt64] = []
    func add(_ directory: String, _ bytes: Int64) {
      let existing = nearestExistingDirectory(directory)
      var info = stat()
      var fileSystem = statvfs()
      guard stat(existing, &info) == 0, statvfs(existing, &fileSystem) == 0 else { return }
      let device = UInt64(info.st_dev)
      if checks[device] == nil {
        let available = Int64(fileSystem.f_bavail) * Int64(fileSystem.f_frsize)
        checks[device] = RestorePlan.SpaceCheck(directory: existing, required: 0, available: available)
        order.append(device)
      }
      checks[device]?.required += bytes
    }

    for item in items {
      let blocks = (item.restoredBytes + 4095) / 4096 * 4096 + Int64(item.restoredEntries) * 4096
      add((item.destination as NSString).deletingLastPathComponent, blocks)
    }
    add(download.directory, download.bytes)
    return order.compactMap { checks[$0] }
  }
}
