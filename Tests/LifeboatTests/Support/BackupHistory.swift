import Foundation
import Lifeboat

/// Builds a repository whose backups carry chosen ids, to test retention without waiting for
/// real time to pass.
enum BackupHistory {
  /// Takes one real backup of a small tree as host `web1`, then stores a copy of its archive and
  /// manifest under each id (such as `20280101T030000Z-web1`), with the manifest's `id`, `archive.key`,
  /// `started_at` and `status` rewritten to match. The real backup is removed afterwards.
  ///
  /// - Parameter statuses: manifest status by id; `complete` for ids not named.
  static func make(
    repository: String, ids: [String], statuses: [String: String] = [:], work: TemporaryDirectory
  ) throws {
    let tree = work.join("history-source")
    try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
    try "settings\n".write(toFile: tree + "/app.conf", atomically: true, encoding: .utf8)
    let backup = try TestSupport.lifeboat([
      "backup", "--path", tree, "--repo", "file://" + repository, "--host", "web1", "--json",
    ], environment: ["LIFEBOAT_LOCK_DIRECTORY": work.join("history-locks")])
    guard backup.status == 0 else { throw TestFailure("seed backup failed: \(backup.stderr)") }
    let summary = try JSONSerialization.jsonObject(with: Data(backup.stdout.utf8)) as? [String: Any]
    guard let seedID = summary?["id"] as? String else { throw TestFailure("no id in \(backup.stdout)") }

    let directory = repository + "/backups/"
    let seedManifest = directory + seedID + ".manifest.json"
    let seedArchive = directory + seedID + ".tar.gz"
    let manifestData = try Data(contentsOf: URL(fileURLWithPath: seedManifest))
    guard let manifest = try JSONSerialization.jsonObject(with: manifestData) as? [String: Any] else {
      throw TestFailure("seed manifest is not a JSON object")
    }

    for id in ids {
      try FileManager.default.copyItem(atPath: seedArchive, toPath: directory + id + ".tar.gz")
      var copy = manifest
      copy["id"] = id
      copy["status"] = statuses[id] ?? "complete"
      copy["started_at"] = isoTime(of: id)
      var archive = copy["archive"] as? [String: Any] ?? [:]
      archive["key"] = "backups/" + id + ".tar.gz"
      copy["archive"] = archive
      let data = try JSONSerialization.data(withJSONObject: copy, options: [.prettyPrinted, .sortedKeys])
      try data.write(to: URL(fileURLWithPath: directory + id + ".manifest.json"))
    }
    try FileManager.default.removeItem(atPath: seedManifest)
    try FileManager.default.removeItem(atPath: seedArchive)
  }

  /// Returns `2028-01-01T03:00:00Z` for `20280101T030000Z-web1`.
  static func isoTime(of id: String) -> String {
    let time = BackupID.time(of: id) ?? Date(timeIntervalSince1970: 0)
    return Timestamp.iso8601(time)
  }

  /// Midnight UTC 40 days ago. Histories start here, so they end before any backup a test
  /// takes now, whatever the machine's clock reads.
  static let start: Date = {
    let now = Date().timeIntervalSince1970
    return Date(timeIntervalSince1970: (now / 86_400).rounded(.down) * 86_400 - 40 * 86_400)
  }()

  /// Returns the id of a backup taken `day` days after `start`, at `hour` UTC.
  static func id(day: Int, hour: Int, host: String = "web1") -> String {
    BackupID.make(time: start.addingTimeInterval(Double(day * 86_400 + hour * 3_600)), host: host)
  }

  /// Ids at 03:00 and 15:00 UTC on each of `days` consecutive days from `start`, oldest first:
  /// day d's are at indices 2d and 2d + 1.
  static func twicePerDay(days: Int, host: String = "web1") -> [String] {
    (0..<days).flatMap { day in [id(day: day, hour: 3, host: host), id(day: day, hour: 15, host: host)] }
  }

  /// Splits an output line into words, so that tests need not repeat the column widths.
  static func fields(_ line: Substring) -> [String] {
    line.split(separator: " ").map(String.init)
  }

  /// Returns the ids of the backups that `lifeboat list --json` prints.
  static func listedIDs(repository: String, environment: [String: String] = [:]) throws -> [String] {
    let list = try TestSupport.lifeboat(
      ["list", "--repo", "file://" + repository, "--json"], environment: environment)
    guard list.status == 0 else { throw TestFailure("list failed: \(list.stderr)") }
    let items = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]]
    return (items ?? []).compactMap { $0["id"] as? String }
  }

  /// Lists every regular file under `directory` with its size and modification time, to show
  /// that nothing changed. Directories are left out because taking the lock creates `locks/`.
  static func snapshot(_ directory: String) throws -> String {
    try TestSupport.shell("cd '\(directory)' && find . -type f -printf '%p %s %T@\\n' | sort").stdout
  }
}
