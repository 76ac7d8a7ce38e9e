import Foundation

/// One committed backup and what prune does with it.
public struct PrunedBackup: Sendable {
  public var id: String
  public var host: String
  public var status: String
  public var manifestKey: String
  public var archiveKey: String?
  /// The plain `<id>.encryption.json` of an encrypted backup.
  public var encryptionRecordKey: String? = nil
  public var archiveBytes: Int64
  /// The rules that keep the backup; empty when it is deleted.
  public var rules: [RetentionRule]

  public var keep: Bool { !rules.isEmpty }
}

/// An archive (or encryption record) that no manifest names, left by a run that died before it
/// committed.
public struct LeftoverObject: Sendable {
  public var key: String
  public var size: Int64
  /// Seconds since the object was last written.
  public var age: TimeInterval
}

/// The decisions and actions of one prune run.
public struct PruneReport: Sendable {
  public var dryRun: Bool
  public var policy: RetentionPolicy
  /// Every committed backup, oldest first.
  public var backups: [PrunedBackup]
  /// Archives without a manifest, old enough to delete.
  public var leftovers: [LeftoverObject]
  /// Interrupted uploads the store aborted, or would abort in a dry run.
  public var staleUploads: Int

  public var kept: [PrunedBackup] { backups.filter(\.keep) }
  public var deleted: [PrunedBackup] { backups.filter { !$0.keep } }
  public var bytesFreed: Int64 {
    deleted.reduce(0) { $0 + $1.archiveBytes } + leftovers.reduce(0) { $0 + $1.size }
  }
}

/// Deletes the backups a retention policy does not keep, and the debris of interrupted runs.
///
/// Everything is decided from one listing of `backups/` and the manifests it names, before the
/// first deletion. When the listing fails or any manifest cannot be read, nothing is deleted:
/// a backup whose manifest is unreadable cannot be placed in time or status, and guessing could
/// delete the copy that matters. Backups are grouped by the host in their manifests, so one
/// host's backups never use up another host's retention slots.
public final class Pruner {
  /// Leftovers younger than this may belong to a run still in progress, so they stay.
  public static let leftoverAge: TimeInterval = 86_400

  public let repository: Repository
  public let policy: RetentionPolicy
  public let logger: Logger
  private let now: Date

  public init(repository: Repository, policy: RetentionPolicy, logger: Logger, now: Date = Date()) {
    self.repository = repository
    self.policy = policy
    self.logger = logger
    self.now = now
  }

  /// Decides what to delete and, unless `dryRun` is set, deletes it.
  ///
  /// Each backup's manifest is deleted before its archive, so a backup interrupted halfway is
  /// never listed as valid, and its archive is a leftover that the next run removes.
  ///
  /// - Throws: the usage error of an empty policy; a `LifeboatError` naming the unreadable
  ///   manifests (nothing deleted); storage errors, after logging what was already deleted.
  public func run(dryRun: Bool) throws -> PruneReport {
    try policy.validate()
    let objects = try repository.store.list(prefix: Repository.directory)
    let records = try readManifests(objects)
    var report = PruneReport(
      dryRun: dryRun, policy: policy, backups: try decide(records),
      leftovers: findLeftovers(objects, records: records), staleUploads: 0)
    logger.info("prune plan", [
      ("policy", .string(policy.summary)), ("keep", .int(Int64(report.kept.count))),
      ("delete", .int(Int64(report.deleted.count))), ("leftovers", .int(Int64(report.leftovers.count))),
      ("dry_run", .bool(dryRun)),
    ])

    if !dryRun {
      try delete(report.deleted)
      try removeLeftovers(report.leftovers)
    }
    report.staleUploads = try repository.store.abortStaleUploads(
      olderThan: Pruner.leftoverAge, dryRun: dryRun)
    if report.staleUploads > 0 && !dryRun {
      logger.info("aborted stale uploads", [("count", .int(Int64(report.staleUploads)))])
    }
    return report
  }

  private func readManifests(_ objects: [ObjectInfo]) throws -> [BackupRecord] {
    var records: [BackupRecord] = []
    var failures: [(String, Error)] = []
    for id in Repository.backupIDs(in: objects) {
      do {
        records.append(try repository.record(id: id))
      } catch {
        logger.error("manifest of backup \(id) cannot be read: \(error)")
        failures.append((id, error))
      }
    }
    guard let (firstID, firstError) = failures.first else { return records }

    let cause = CommandLineTool.operatorError(firstError)
    let others = failures.count > 1 ? " and \(failures.count - 1) more" : ""
    throw LifeboatError(
      cause.code == .unavailable ? .unavailable : .dataError,
      "cannot read the manifest of backup \(firstID)\(others): \(cause.message); nothing was deleted",
      hint: "run 'lifeboat verify \(firstID)'; restore a good copy of the manifest or delete that "
        + "backup's objects by hand, then run prune again")
  }

  private func decide(_ records: [BackupRecord]) throws -> [PrunedBackup] {
    let byHost = Dictionary(grouping: records, by: \.manifest.host)
    var rulesByID: [String: [RetentionRule]] = [:]
    for (_, group) in byHost {
      let candidates = group.compactMap { RetentionCandidate(id: $0.id, status: $0.manifest.status) }
      for decision in try policy.select(candidates) { rulesByID[decision.id] = decision.rules }
    }
    return records.map { record in
      PrunedBackup(
        id: record.id, host: record.manifest.host, status: record.manifest.status,
        manifestKey: record.manifestKey, archiveKey: record.manifest.archive?.key,
        encryptionRecordKey: record.encryption == nil ? nil : repository.encryptionRecordKey(id: record.id),
        archiveBytes: record.manifest.archive?.size ?? 0,
        // Every listed id carries a time, so each has a decision; keep any that would not.
        rules: rulesByID[record.id] ?? [.newest])
    }
  }

  /// Archive objects that no manifest names and that were last written over a day ago.
  private func findLeftovers(_ objects: [ObjectInfo], records: [BackupRecord]) -> [LeftoverObject] {
    let named = Set(records.compactMap { $0.manifest.archive?.key })
    let committed = Set(records.map(\.id))
    return objects.compactMap { object in
      // An encryption record is written between the archive and the manifest, so a run that
      // died there leaves one too.
      guard !named.contains(object.key), let parsed = RepositoryObjectKey(key: object.key) else {
        return nil
      }
      switch parsed.kind {
      case .archive: break
      case .encryptionRecord where !committed.contains(parsed.id): break
      default: return nil
      }
      let id = parsed.id
      guard let written = object.lastModified ?? BackupID.time(of: id) else { return nil }
      let age = now.timeIntervalSince(written)
      guard age > Pruner.leftoverAge else {
        logger.debug("object without a manifest is recent; leaving it", [("key", .string(object.key))])
        return nil
      }
      return LeftoverObject(key: object.key, size: object.size, age: age)
    }
  }

  private func delete(_ backups: [PrunedBackup]) throws {
    var done = 0
    for backup in backups {
      do {
        try repository.store.delete(key: backup.manifestKey)
        if let archiveKey = backup.archiveKey { try repository.store.delete(key: archiveKey) }
        if let recordKey = backup.encryptionRecordKey { try repository.store.delete(key: recordKey) }
      } catch {
        logger.error(
          "prune stopped after deleting \(done) of \(backups.count) backup(s)",
          [("id", .string(backup.id)), ("error", .string("\(error)"))])
        throw error
      }
      done += 1
      logger.info("deleted backup", [("id", .string(backup.id)), ("status", .string(backup.status))])
    }
  }

  private func removeLeftovers(_ leftovers: [LeftoverObject]) throws {
    for leftover in leftovers {
      try repository.store.delete(key: leftover.key)
      logger.info("deleted object without a manifest", [
        ("key", .string(leftover.key)), ("age_h", .int(Int64(leftover.age / 3600))),
      ])
    }
  }
}
