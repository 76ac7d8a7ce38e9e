import Foundation

/// The choice of backup for a restore: the newest, one by id, or the newest taken before a time.
public enum BackupSelector: Equatable, Sendable {
  case latest
  case id(String)
  /// The newest backup whose start time is strictly earlier than the date. A backup that
  /// started at exactly that second is not chosen, since it may already contain the damage
  /// the operator is trying to undo.
  case before(Date)

  /// Returns the ids that `latest` or `before` may choose, newest first. For `id` it returns
  /// that id when the repository has it.
  public func candidates(in ids: [String]) -> [String] {
    let newestFirst = BackupID.sorted(ids).reversed()
    switch self {
    case .latest:
      return Array(newestFirst)
    case .id(let id):
      return ids.contains(id) ? [id] : []
    case .before(let date):
      return newestFirst.filter { id in
        guard let time = BackupID.time(of: id) else { return false }
        return time < date
      }
    }
  }

  public var description: String {
    switch self {
    case .latest: return "latest"
    case .id(let id): return id
    case .before(let date): return "newest before \(TimeArgument.format(date))"
    }
  }
}

/// A time window for `list --since/--until`. Both ends are inclusive and compare the backup's
/// start time, as recorded in its id.
public struct BackupTimeFilter: Sendable {
  public var since: Date?
  public var until: Date?

  public init(since: Date? = nil, until: Date? = nil) {
    self.since = since
    self.until = until
  }

  public func contains(id: String) -> Bool {
    guard let time = BackupID.time(of: id) else { return false }
    if let since, time < since { return false }
    if let until, time > until { return false }
    return true
  }
}

extension Repository {
  /// Resolves a selector to one committed backup, optionally only among backups of `host`
  /// (the host name recorded in the manifest). `latest` and `before` skip partial backups
  /// unless nothing else matches.
  ///
  /// - Throws: `LifeboatError` naming the selector when nothing matches, or when the manifest
  ///   of a candidate cannot be read while looking for the host.
  public func resolve(
    _ selector: BackupSelector, host: String? = nil, onSkip: (String) -> Void = { _ in }
  ) throws -> BackupRecord {
    if case .id(let id) = selector {
      let record = try resolve(id)
      if let host, record.manifest.host != host {
        throw LifeboatError(
          .usage, "backup \(id) was taken on host \(record.manifest.host), not \(host)",
          hint: "drop --host, or pick a backup of \(host) from 'lifeboat list --host \(host)'")
      }
      return record
    }

    // A partial backup (sources that could not be read) is chosen only when no complete one
    // matches, so `latest` never silently restores less than an earlier backup holds.
    let ids = try listIDs()
    var newestPartial: BackupRecord?
    var unreadable: [String] = []
    defer { for problem in unreadable { onSkip(problem) } }
    for id in selector.candidates(in: ids) {
      let record: BackupRecord
      do {
        record = try self.record(id: id)
      } catch let error as LifeboatError where error.code == .dataError {
        // A damaged manifest must not hide the good backups before it; verify names it.
        unreadable.append("\(id): \(error.message)")
        continue
      }
      guard host == nil || record.manifest.host == host else { continue }
      if record.manifest.status != "partial" { return record }
      if newestPartial == nil { newestPartial = record }
    }
    if let newestPartial { return newestPartial }
    throw noMatch(selector, host: host, ids: ids)
  }

  private func noMatch(_ selector: BackupSelector, host: String?, ids: [String]) -> LifeboatError {
    let onHost = host.map { " of host \($0)" } ?? ""
    guard let oldest = ids.first else {
      return LifeboatError(
        .failure, "no backups in \(store.location)",
        hint: "run 'lifeboat backup' first, or check the repository URL")
    }
    switch selector {
    case .before(let date):
      let oldestTime = BackupID.time(of: oldest).map(TimeArgument.format) ?? oldest
      return LifeboatError(
        .failure, "no backup\(onHost) was taken before \(TimeArgument.format(date)) in \(store.location)",
        hint: "the oldest backup in the repository is \(oldest) (\(oldestTime)); run 'lifeboat list'")
    default:
      return LifeboatError(
        .failure, "no backup\(onHost) in \(store.location)",
        hint: "run 'lifeboat list' to see the hosts whose backups it holds")
    }
  }
}

/// The size of a random sample of backups for `verify --sample`: a percentage of the
/// repository (`10%`) or a count (`3`). A sample is never empty while backups exist.
public enum BackupSample: Equatable, Sendable {
  case percent(Double)
  case count(Int)

  /// Parses `10%`, `2.5%` or `3`. Returns nil for zero, negative or malformed values and for
  /// percentages above 100.
  public static func parse(_ text: String) -> BackupSample? {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    if trimmed.hasSuffix("%") {
      guard let value = Double(trimmed.dropLast()), value > 0, value <= 100 else { return nil }
      return .percent(value)
    }
    guard let value = Int(trimmed), value > 0 else { return nil }
    return .count(value)
  }

  /// Returns the number of backups to take from `total`: the percentage rounded up, at least
  /// one, at most `total`.
  public func size(of total: Int) -> Int {
    guard total > 0 else { return 0 }
    switch self {
    case .percent(let value):
      return min(total, max(1, Int((Double(total) * value / 100).rounded(.up))))
    case .count(let value):
      return min(total, value)
    }
  }

  /// Picks `size(of: ids.count)` distinct ids at random and returns them oldest first.
  public func choose<Generator: RandomNumberGenerator>(from ids: [String], using generator: inout Generator) -> [String] {
    Array(ids.shuffled(using: &generator).prefix(size(of: ids.count))).sorted()
  }
}
