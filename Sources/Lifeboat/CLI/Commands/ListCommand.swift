import Foundation

extension Command {
  static let list = Command(
    name: "list",
    summary: "List the committed backups in the repository, oldest first.",
    usage: "lifeboat list [--repo URL] [--json] [options]",
    options: [
      OptionSpec("json", help: "print one JSON array of backups on stdout"),
      OptionSpec("host", value: "NAME", help: "only backups taken on host NAME"),
      OptionSpec("since", value: "TIME", help: "only backups taken at or after TIME (UTC unless it has Z or an offset)"),
      OptionSpec("until", value: "TIME", help: "only backups taken at or before TIME (UTC unless it has Z or an offset)"),
    ] + CommonOptions.repository + CommonOptions.encryption + CommonOptions.logging,
    maxPositionals: 0,
    examples: [
      "lifeboat list --repo file:///srv/backups",
      "lifeboat list --config /etc/lifeboat/lifeboat.conf --json",
      "lifeboat list --since 2026-12-01 --until '2026-12-03 04:00' --repo file:///srv/backups",
    ],
    details: """
      Only backups whose manifest was written are listed; interrupted runs never appear.
      Encrypted backups that no configured identity opens are listed from their plain
      encryption record, with their stored size. Those whose record was written before lifeboat
      stored the backup's metadata there show the status 'encrypted' and no file count.
      TIME is \(TimeArgument.formats); a date alone means 00:00 UTC of that day.
      """,
    run: runList)

  private static func runList(_ context: CommandContext) throws -> Int32 {
    let filter = BackupTimeFilter(
      since: try timeOption(context.arguments, "since"), until: try timeOption(context.arguments, "until"))
    _ = try context.configuration()
    let repository = try context.openRepository(create: false)
    var unreadable = 0
    // Filter by the time in the id first, so manifests outside the window are never read.
    var lockedIDs: [String] = []
    var overviews: [BackupOverview] = []
    for id in try repository.listIDs() where filter.contains(id: id) {
      do {
        overviews.append(try repository.overview(id: id))
      } catch let error as KeyRequiredError {
        // Encrypted, with no key and no metadata in its encryption record. That is not damage.
        lockedIDs.append(id)
        context.logger.debug(error.keyError.message)
      } catch {
        unreadable += 1
        context.logger.error("manifest of backup \(id) cannot be read: \(error)")
      }
    }
    var locked = try LockedBackup.find(lockedIDs, in: repository)
    if let host = context.arguments.value("host") {
      overviews = overviews.filter { $0.host == host }
      locked = locked.filter { $0.matches(host: host) }
    }
    if !lockedIDs.isEmpty {
      context.logger.notice(
        "\(lockedIDs.count) encrypted backup(s) shown without details: no configured identity opens them",
        [("hint", .string("set identity_file or a passphrase in [encryption] to see them in full"))])
    }

    if context.arguments.has("json") {
      var items = overviews.map { ($0.id, json($0)) }
      items += locked.map { ($0.id, $0.json) }
      context.print("[" + items.sorted { $0.0 < $1.0 }.map(\.1).joined(separator: ",\n") + "]")
    } else if overviews.isEmpty && locked.isEmpty {
      context.print("no backups in \(repository.store.location)")
    } else {
      context.print(pad("ID", 36) + pad("TIME (UTC)", 22) + pad("STATUS", 10) + pad("SIZE", 10) + "FILES")
      var lines = overviews.map { overview -> (String, String) in
        let time = overview.startedAt.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: "")
        return (overview.id, pad(overview.id, 36) + pad(time, 22) + pad(overview.status, 10)
            + pad(formatBytes(overview.archiveSize ?? overview.storedSize), 10) + String(overview.fileCount))
      }
      lines += locked.map { backup in
        let time = backup.time.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: "")
        return (backup.id, pad(backup.id, 36) + pad(time, 22) + pad("encrypted", 10) + pad(formatBytes(backup.storedBytes), 10) + "-")
      }
      for (_, line) in lines.sorted(by: { $0.0 < $1.0 }) { context.print(line) }
    }
    return unreadable == 0 ? 0 : LifeboatError.Code.dataError.rawValue
  }

  /// Formats one backup as a JSON object. `archive_bytes` is the size before encryption when
  /// the manifest was read, and the stored size when only the encryption record was.
  private static func json(_ overview: BackupOverview) -> String {
    "{\"id\":\(JSONText.quote(overview.id)),\"time\":\(JSONText.quote(overview.startedAt)),"
      + "\"host\":\(JSONText.quote(overview.host)),\"status\":\(JSONText.quote(overview.status)),"
      + "\"archive_bytes\":\(overview.archiveSize ?? overview.storedSize),"
      + "\"total_bytes\":\(overview.totalBytes),\"files\":\(overview.fileCount),"
      + "\"compression\":\(JSONText.quote(overview.compression)),\"encrypted\":\(overview.encrypted)}"
  }

  private static func timeOption(_ arguments: ParsedArguments, _ name: String) throws -> Date? {
    guard let text = arguments.value(name) else { return nil }
    guard let date = TimeArgument.parse(text) else {
      throw UsageError(message: "invalid time '\(text)' for --\(name): expected \(TimeArgument.formats)")
    }
    return date
  }

  private static func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
  }
}

/// An encrypted backup that no configured key opens and whose encryption record carries no
/// metadata, described from the object listing alone: the id carries the time and host, and
/// the archive object's size is the stored size.
struct LockedBackup {
  var id: String
  var time: String
  var storedBytes: Int64
  var compression: String?

  static func find(_ ids: [String], in repository: Repository) throws -> [LockedBackup] {
    guard !ids.isEmpty else { return [] }
    let objects = try repository.store.list(prefix: Repository.directory)
    return ids.map { id in
      let archive = objects.lazy.compactMap { object -> (ObjectInfo, CompressionFormat)? in
        guard let parsed = RepositoryObjectKey(key: object.key), parsed.id == id,
          case .archive(let format) = parsed.kind
        else { return nil }
        return (object, format)
      }.first
      return LockedBackup(
        id: id, time: BackupID.time(of: id).map(Timestamp.iso8601) ?? "",
        storedBytes: archive?.0.size ?? 0, compression: archive?.1.rawValue)
    }
  }

  /// Returns whether the id's host part is `host`, allowing the `-2`, `-3`… of same-second
  /// backups.
  func matches(host: String) -> Bool {
    let name = id.dropFirst(17)
    guard name.hasPrefix(host) else { return false }
    let rest = name.dropFirst(host.count)
    return rest.isEmpty || (rest.first == "-" && rest.dropFirst().allSatisfy(\.isNumber) && rest.count > 1)
  }

  var json: String {
    "{\"id\":\(JSONText.quote(id)),\"time\":\(JSONText.quote(time)),\"host\":null,\"status\":\"encrypted\",\"archive_bytes\":\(storedBytes),\"total_bytes\":null,\"files\":null,\"compression\":\(compression.map(JSONText.quote) ?? "null"),\"encrypted\":true}"
  }
}
