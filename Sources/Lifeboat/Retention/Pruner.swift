import Foundation

/// One committed backup and what prune does with it.
public struct PrunedBackup: Sendable {
  public var id: String
  /// The host recorded in the backup, or nil when it cannot be read without a key.
  public var host: String?
  /// `complete`, `warnings` or `partial`; `encrypted` when it cannot be read without a key.
  public var status: String
  public var manifestKey: String
  public var archiveKey: String?
  /// The plain `<id>.encryption.json` of an encrypted backup.
  public var encryptionRecordKey: String? = nil
  /// The archive's size: before encryption when the manifest was read, as stored otherwise.
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
/// first deletion. An encrypted backup that no configured key opens is placed by the metadata
/// in its plain encryption record, so prune needs no key. When the listing fails or any
/// manifest or encryption record is damaged, nothing is deleted: a backup that cannot be placed
/// in time or status could be the copy that matters. Backups are grouped by the host in their
/// manifests, so one host's backups never use up another host's retention slots.
///
/// An encrypted backup whose status needs a key, because its encryption record was written by
/// a lifeboat that did not store the metadata there yet, is kept with the rule `status-unknown`
/// and left out of the policy. Leaving a backup out and keeping it never deletes a backup that
/// the policy would keep with it.
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
    let (overviews, unplaced) = try readOverviews(objects)
    let backups = try decide(overviews) + keepUnplaced(unplaced, objects: objects)
    var report = PruneReport(
      dryRun: dryRun, policy: policy, backups: backups.sorted { $0.id < $1.id },
      leftovers: findLeftovers(objects, backups: backups), staleUploads: 0)
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

  /// Reads each committed backup's overview. Returns the backups that can be placed, and the
  /// encrypted ones whose status needs a key.
  private func readOverviews(_ objects: [ObjectInfo]) throws
    -> (overviews: [BackupOverview], unplaced: [KeyRequiredError])
  {
    var overviews: [BackupOverview] = []
    var unplaced: [KeyRequiredError] = []
    var failures: [(String, Error)] = []
    for id in Repository.backupIDs(in: objects) {
      do {
        overviews.append(try repository.overview(id: id))
      } catch let error as KeyRequiredError {
        unplaced.append(error)
      } catch {
        logger.error("manifest of backup \(id) cannot be read: \(error)")
        failures.append((id, error))
      }
    }
    if !unplaced.isEmpty {
      logger.warning(
        "kept \(unplaced.count) encrypted backup(s) without a retention decision: "
          + unplaced.map(\.id).joined(separator: ", ")
          + ". Their status needs a key, because their encryption records were written before "
          + "lifeboat stored the status there",
        [("hint", .string(
          "run prune once with --identity FILE (or identity_file in [encryption]) to apply the policy to them"))])
    }
    guard let (firstID, firstError) = failures.first else { return (overviews, unplaced) }

    let cause = CommandLineTool.operatorError(firstError)
    let others = failures.count > 1 ? " and \(failures.count - 1) more" : ""
    throw LifeboatError(
      cause.code == .unavailable ? .unavailable : .dataError,
      "cannot read the manifest of backup \(firstID)\(others): \(cause.message); nothing was deleted",
      hint: "run 'lifeboat verify \(firstID)'; restore a good copy of the manifest or delete that "
        + "backup's objects by hand, then run prune again")
  }

  private func decide(_ overviews: [BackupOverview]) throws -> [PrunedBackup] {
    let byHost = Dictionary(grouping: overviews, by: \.host)
    var rulesByID: [String: [RetentionRule]] = [:]
    for (_, group) in byHost {
      let candidates = group.compactMap { RetentionCandidate(id: $0.id, status: $0.status) }
      for decision in try policy.select(candidates) { rulesByID[decision.id] = decision.rules }
    }
    return overviews.map { overview in
      PrunedBackup(
        id: overview.id, host: overview.host, status: overview.status,
        manifestKey: overview.manifestKey, archiveKey: overview.archiveKey,
        encryptionRecordKey: overview.encryptionRecordKey,
        archiveBytes: overview.archiveSize ?? overview.storedSize,
        // Every listed id carries a time, so each has a decision; keep any that would not.
        rules: rulesByID[overview.id] ?? [.newest])
    }
  }

  /// Keeps the encrypted backups whose status needs a key, naming their objects so that none
  /// of them counts as a leftover.
  private func keepUnplaced(_ unplaced: [KeyRequiredError], objects: [ObjectInfo]) -> [PrunedBackup] {
    unplaced.map { backup in
      let archive = objects.first { object in
        guard let parsed = RepositoryObjectKey(key: object.key), case .archive = parsed.kind else { return false }
        return parsed.id == backup.id
      }
      return PrunedBackup(
        id: backup.id, host: nil, status: "encrypted",
        manifestKey: RepositoryObjectKey(id: backup.id, kind: .manifest, encrypted: true).key,
        archiveKey: archive?.key,
        encryptionRecordKey: backup.encryptionRecord == nil ? nil : repository.encryptionRecordKey(id: backup.id),
        archiveBytes: archive?.size ?? 0, rules: [.statusUnknown])
    }
  }

  /// Archive objects that no manifest names and that were last written over a day ago.
  private func findLeftovers(_ objects: [ObjectInfo], backups: [PrunedBackup]) -> [LeftoverObject] {
    let named = Set(backups.compactMap(\.archiveKey))
    let committed = Set(backups.map(\.id))
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
        // Keys come from manifests and encryption records, which can be damaged or edited: an
        // object is deleted only when its key names this backup's id.
        let owned = [backup.manifestKey, backup.archiveKey, backup.encryptionRecordKey].compactMap { $0 }
        for key in owned where RepositoryObjectKey(key: key)?.id != backup.id {
          throw LifeboatError(
            .dataError, "backup \(backup.id) names object \(key), which belongs to another backup; nothing of it was deleted",
            hint: "run 'lifeboat verify \(backup.id)'; the manifest or encryption record is damaged")
        }
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
