import Foundation

/// A backup as listed in the repository: its committed manifest object.
public struct BackupRecord: Sendable {
  public var id: String
  public var manifest: Manifest
  public var manifestKey: String
  /// Set when the backup is age-encrypted: the keys that opened its manifest.
  public var encryption: BackupEncryption? = nil

  public var time: Date? { BackupID.time(of: id) }
}

/// Backup ids: `20261204T031500Z-web1`, with `-2`, `-3`… added when a second backup of the same
/// host lands in the same second. They sort by time and carry no local time zone.
public enum BackupID {
  public static func make(time: Date, host: String) -> String {
    "\(Timestamp.compact(time))-\(sanitize(host))"
  }

  public static func time(of id: String) -> Date? {
    Timestamp.parseCompact(String(id.prefix(16)))
  }

  /// Host names go into object keys: keep them to letters, digits, `.`, `_` and `-`.
  public static func sanitize(_ host: String) -> String {
    let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    let cleaned = String(host.map { allowed.contains($0) ? $0 : "-" })
    return cleaned.isEmpty ? "host" : cleaned
  }

  /// Sorts ids by time, then host, then the same-second counter as a number, so `-10` comes
  /// after `-9` (plain string order would put it before `-2`).
  public static func sorted(_ ids: some Sequence<String>) -> [String] {
    func key(_ id: String) -> (String, String, Int) {
      let time = String(id.prefix(16))
      let rest = String(id.dropFirst(17))
      if let dash = rest.lastIndex(of: "-"), let counter = Int(rest[rest.index(after: dash)...]), counter >= 2 {
        return (time, String(rest[..<dash]), counter)
      }
      return (time, rest, 1)
    }
    return ids.map { (key($0), $0) }.sorted { left, right in
      if left.0.0 != right.0.0 { return left.0.0 < right.0.0 }
      if left.0.1 != right.0.1 { return left.0.1 < right.0.1 }
      if left.0.2 != right.0.2 { return left.0.2 < right.0.2 }
      return left.1 < right.1
    }.map(\.1)
  }

  public static func isValid(_ id: String) -> Bool {
    guard time(of: id) != nil, id.count > 17, Array(id)[16] == "-" else { return false }
    return id.allSatisfy { $0.isLetter || $0.isNumber || "._-".contains($0) } && id.allSatisfy(\.isASCII)
  }
}

/// The layout of backups in an object store.
///
/// `backups/<id>.tar.gz` (or `.tar.zst`) is written first, and `backups/<id>.manifest.json` last.
/// The manifest is the commit marker: a backup without it does not exist for `list`, `restore`
/// or `verify`, and `prune` removes it as debris. With encryption both objects get
/// the suffix `.age`, and `backups/<id>.encryption.json` goes between them.
public final class Repository {
  public let store: ObjectStore
  public static let directory = "backups/"
  static let manifestSuffix = ".manifest.json"
  /// Recipients for new backups (empty: plain backups) and identities for reading.
  public var keys = RepositoryKeys()

  public init(store: ObjectStore) { self.store = store }

  /// Returns the archive key of a new backup, ending in `.age` when the repository encrypts.
  public func archiveKey(id: String, compression: CompressionFormat) -> String {
    RepositoryObjectKey(id: id, kind: .archive(compression), encrypted: keys.encrypts).key
  }

  public func manifestKey(id: String) -> String {
    "\(Repository.directory)\(id)\(Repository.manifestSuffix)"
  }

  /// Ids of committed backups, oldest first, from one listing (no manifest is read).
  public func listIDs() throws -> [String] {
    Repository.backupIDs(in: try store.list(prefix: Repository.directory))
  }

  /// Ids of the committed backups among `objects`, a listing of `backups/`, oldest first:
  /// those with a manifest object, plain or encrypted.
  public static func backupIDs(in objects: [ObjectInfo]) -> [String] {
    let ids = objects.compactMap { object -> String? in
      guard let parsed = RepositoryObjectKey(key: object.key), parsed.kind == .manifest else { return nil }
      return parsed.id
    }
    return BackupID.sorted(Set(ids))
  }

  /// Returns the backup id of an archive key such as `backups/<id>.tar.gz` or
  /// `backups/<id>.tar.gz.age`, or nil for other keys.
  public static func archiveID(key: String) -> String? {
    guard let parsed = RepositoryObjectKey(key: key), case .archive = parsed.kind else { return nil }
    return parsed.id
  }

  /// Returns every committed backup with its manifest, oldest first. A manifest that cannot be read is
  /// reported through `onError` and left out, so one damaged object does not hide the rest.
  public func list(onError: (String, Error) -> Void = { _, _ in }) throws -> [BackupRecord] {
    var records: [BackupRecord] = []
    for id in try listIDs() {
      do {
        records.append(try record(id: id))
      } catch {
        onError(id, error)
      }
    }
    return records
  }

  public func record(id: String) throws -> BackupRecord {
    let (key, bytes, encryption) = try readManifest(id: id)
    let manifest: Manifest
    do {
      manifest = try Manifest.decode(bytes, name: key)
    } catch var error as LifeboatError {
      error.message = "backup \(id): \(error.message)"
      throw error
    }
    guard manifest.id == id, let archive = manifest.archive else {
      throw LifeboatError(.dataError, "manifest \(key) does not describe backup \(id)")
    }
    // The archive key must be this backup's own: prune deletes it, and restore reads it.
    guard let parsed = RepositoryObjectKey(key: archive.key), parsed.id == id,
      case .archive(let format) = parsed.kind, format.rawValue == archive.compression
    else {
      throw LifeboatError(
        .dataError, "manifest \(key) names archive '\(archive.key)', which is not backup \(id)'s",
        hint: "the manifest is damaged; restore from another backup and run 'lifeboat verify --all'")
    }
    return BackupRecord(id: id, manifest: manifest, manifestKey: key, encryption: encryption)
  }

  /// Resolves `latest` or an id, naming the backup that is missing.
  public func resolve(_ selector: String) throws -> BackupRecord {
    try record(id: resolveID(selector))
  }

  /// Resolves `latest` or checks an id without reading any manifest, so it needs no key. With
  /// `mustExist`, an id without a manifest object fails here as `resolve` would fail.
  public func resolveID(_ selector: String, mustExist: Bool = false) throws -> String {
    if selector == "latest" {
      guard let id = try listIDs().last else {
        throw LifeboatError(
          .failure, "no backups in \(store.location)",
          hint: "run 'lifeboat backup' first, or check the repository URL")
      }
      return id
    }
    guard BackupID.isValid(selector) else {
      throw LifeboatError(
        .usage, "invalid backup id '\(selector)'",
        hint: "ids look like 20261204T031500Z-host; run 'lifeboat list' to see them")
    }
    if mustExist, try !listIDs().contains(selector) {
      throw LifeboatError(
        .failure, "backup \(selector) not found in \(store.location)",
        hint: "run 'lifeboat list' to see the backups in the repository")
    }
    return selector
  }

  /// Returns a fresh id for a backup starting at `time`, distinct from every object in the
  /// repository.
  public func newID(time: Date, host: String) throws -> String {
    let base = BackupID.make(time: time, host: host)
    let existing = Set(try store.list(prefix: Repository.directory + base).map(\.key))
    var candidate = base
    var counter = 1
    while existing.contains(where: { $0.hasPrefix(Repository.directory + candidate + ".") }) {
      counter += 1
      candidate = "\(base)-\(counter)"
    }
    return candidate
  }
}
