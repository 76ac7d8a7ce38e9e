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
    ] + CommonOptions.repository + CommonOptions.logging,
    maxPositionals: 0,
    examples: [
      "lifeboat list --repo file:///srv/backups",
      "lifeboat list --config /etc/lifeboat/lifeboat.conf --json",
      "lifeboat list --since 2026-12-01 --until '2026-12-03 04:00' --repo file:///srv/backups",
    ],
    details: """
      Only backups whose manifest was written are listed; interrupted runs never appear.
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
    var records: [BackupRecord] = []
    for id in try repository.listIDs() where filter.contains(id: id) {
      do {
        records.append(try repository.record(id: id))
      } catch {
        unreadable += 1
        context.logger.error("manifest of backup \(id) cannot be read: \(error)")
      }
    }
    if let host = context.arguments.value("host") {
      records = records.filter { $0.manifest.host == host }
    }

    if context.arguments.has("json") {
      let items = records.map { record -> String in
        let manifest = record.manifest
        return "{\"id\":\(JSONText.quote(record.id)),\"time\":\(JSONText.quote(manifest.startedAt)),\"host\":\(JSONText.quote(manifest.host)),\"status\":\(JSONText.quote(manifest.status)),\"archive_bytes\":\(manifest.archive?.size ?? 0),\"total_bytes\":\(manifest.totalBytes),\"files\":\(manifest.fileCount),\"compression\":\(JSONText.quote(manifest.compression))}"
      }
      context.print("[" + items.joined(separator: ",\n") + "]")
    } else if records.isEmpty {
      context.print("no backups in \(repository.store.location)")
    } else {
      context.print(pad("ID", 36) + pad("TIME (UTC)", 22) + pad("STATUS", 10) + pad("SIZE", 10) + "FILES")
      for record in records {
        let manifest = record.manifest
        let time = manifest.startedAt.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: "")
        context.print(
          pad(record.id, 36) + pad(time, 22) + pad(manifest.status, 10)
            + pad(formatBytes(manifest.archive?.size ?? 0), 10) + String(manifest.fileCount))
      }
    }
    return unreadable == 0 ? 0 : LifeboatError.Code.dataError.rawValue
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
