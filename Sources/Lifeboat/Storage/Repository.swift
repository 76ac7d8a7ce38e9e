import Foundation

/// A backup as listed in the repository: its committed manifest object.
public struct BackupRecord: Sendable {
  public var id: String
  public var manifest: Manifest
  public var manifestKey: String

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

  public static func isValid(_ id: String) -> Bool {
    guard time(of: id) != nil, id.count > 17, Array(id)[16] == "-" else { return false }
    return id.allSatisfy { $0.isLetter || $0.isNumber || "._-".contains($0) } && id.allSatisfy(\.isASCII)
  }
}

/// The layout of backups in an object store.
///
/// `backups/<id>.tar.gz` (or `.tar.zst`) is written first; `backups/<id>.manifest.json` is
/// written last and is the commit marker: a backup without it does not exist for `list`,
/// `restore` or `verify`, and is debris that `prune` removes.
public final class Repository {
  public let store: ObjectStore
  public static let directory = "backups/"
  static let manifestSuffix = ".manifest.json"

  public init(store: ObjectStore) { self.store = store }

  public func archiveKey(id: String, compression: CompressionFormat) -> String {
    "\(Repository.directory)\(id)\(compression.fileExtension)"
  }

  public func manifestKey(id: String) -> String {
    "\(Repository.directory)\(id)\(Repository.manifestSuffix)"
  }

  /// Ids of committed backups, oldest first, from one listing (no manifest is read).
  public func listIDs() throws -> [String] {
    Repository.backupIDs(in: try store.list(prefix: Repository.directory))
  }

  /// Ids of the committed backups among `objects`, a listing of `backups/`, oldest first.
  public static func backupIDs(in objects: [ObjectInfo]) -> [String] {
    objects.compactMap { object in
      guard object.key.hasSuffix(Repository.manifestSuffix) else { return nil }
      let name = object.key.dropFirst(Repository.directory.count).dropLast(Repository.manifestSuffix.count)
      return BackupID.isValid(String(name)) ? String(name) : nil
    }.sorted()
  }

  /// Returns the backup id of an archive key such as `backups/<id>.tar.gz`, or nil for other
  /// keys.
  public static func archiveID(key: String) -> String? {
    guard key.hasPrefix(Repository.directory) else { return nil }
    let name = key.dropFirst(Repository.directory.count)
    for format in CompressionFormat.allCases where name.hasSuffix(format.fileExtension) {
      let id = String(name.dropLast(format.fileExtension.count))
      return BackupID.isValid(id) ? id : nil
    }
    return nil
  }

  /// Every committed backup with its manifest, oldest first. A manifest that cannot be read is
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
    let key = manifestKey(id: id)
    let bytes: [UInt8]
    do {
      bytes = try store.get(key: key)
    } catch StorageError.notFound {
      throw LifeboatError(
        .failure, "backup \(id) not found in \(store.location)",
        hint: "run 'lifeboat list' to see the backups in the repository")
    }
    let manifest = try Manifest.decode(bytes, name: key)
    guard manifest.id == id, manifest.archive != nil else {
      throw LifeboatError(.dataError, "manifest \(key) does not describe backup \(id)")
    }
    return BackupRecord(id: id, manifest: manifest, manifestKey: key)
  }

  /// Resolves `latest` or an id, naming the backup that is missing.
  public func resolve(_ selector: String) throws -> BackupRecord {
    if selector == "latest" {
      guard let id = try listIDs().last else {
        throw LifeboatError(
          .failure, "no backups in \(store.location)",
          hint: "run 'lifeboat backup' first, or check the repository URL")
      }
      return try record(id: id)
    }
    guard BackupID.isValid(selector) else {
      throw LifeboatError(
        .usage, "invalid backup id '\(selector)'",
        hint: "ids look like 20261204T031500Z-host; run 'lifeboat list' to see them")
    }
    return try record(id: selector)
  }

  /// A fresh id for a backup starting at `time`, distinct from every object in the repository.
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
