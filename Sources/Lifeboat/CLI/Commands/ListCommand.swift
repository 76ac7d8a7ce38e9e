import Foundation

extension Command {
  static let list = Command(
    name: "list",
    summary: "List the committed backups in the repository, oldest first.",
    usage: "lifeboat list [--repo URL] [--json] [options]",
    options: [
      OptionSpec("json", help: "print one JSON array of backups on stdout"),
      OptionSpec("host", value: "NAME", help: "only backups taken on host NAME"),
    ] + CommonOptions.repository + CommonOptions.logging,
    maxPositionals: 0,
    examples: [
      "lifeboat list --repo file:///srv/backups",
      "lifeboat list --config /etc/lifeboat/lifeboat.conf --json",
    ],
    details: "Only backups whose manifest was written are listed; interrupted runs never appear.",
    run: runList)

  private static func runList(_ context: CommandContext) throws -> Int32 {
    _ = try context.configuration()
    let repository = try context.openRepository(create: false)
    var unreadable = 0
    var records = try repository.list { id, error in
      unreadable += 1
      context.logger.error("manifest of backup \(id) cannot be read: \(error)")
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

  private static func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
  }
}
