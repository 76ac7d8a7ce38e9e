import Foundation

/// Objects as files under a directory: `file:///srv/backups`.
///
/// A write goes to a hidden temporary file beside its destination, is fsynced, renamed into
/// place and the directory fsynced, so a crash leaves either the whole object or none.
/// Files are created 0600 and directories 0700: backups hold the application's data.
public final class LocalObjectStore: ObjectStore {
  public let root: String
  public var location: String { "file://\(root)" }
  static let temporaryMarker = ".lifeboat-tmp-"

  /// Opens the repository at `root`, creating it (0700) when `create` is true.
  public init(root: String, create: Bool) throws {
    self.root = root
    var info = stat()
    if stat(root, &info) != 0 {
      guard create else {
        throw StorageError.unavailable(location: "file://\(root)", reason: "directory not found")
      }
      try makeDirectories(root)
    } else if info.st_mode & S_IFMT != S_IFDIR {
      throw StorageError.unavailable(location: "file://\(root)", reason: "not a directory")
    }
  }

  /// Returns the path of the file that stores `key`.
  public func path(for key: String) throws -> String {
    let components = key.split(separator: "/", omittingEmptySubsequences: false)
    guard !key.isEmpty, !key.hasPrefix("/"),
      components.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." })
    else {
      throw StorageError.invalidKey(key: key, reason: "empty, absolute or '..' component")
    }
    return root + "/" + key
  }

  public func makeWriter(key: String) throws -> ObjectWriter {
    let destination = try path(for: key)
    let directory = (destination as NSString).deletingLastPathComponent
    try makeDirectories(directory)
    let name = (destination as NSString).lastPathComponent
    let temporary = "\(directory)/\(LocalObjectStore.temporaryMarker)\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(name)"
    let fd = open(temporary, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
    guard fd >= 0 else {
      throw StorageError.unavailable(
        location: location,
        reason: "cannot create \(temporary): \(String(cString: strerror(errno)))")
    }
    TemporaryFiles.register(temporary)
    return LocalObjectWriter(fd: fd, temporary: temporary, destination: destination, key: key, store: self)
  }

  public func read(key: String, range: ClosedRange<Int64>?, into sink: ByteSink) throws {
    let file = try path(for: key)
    let fd = open(file, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
      if errno == ENOENT { throw StorageError.notFound(key: key) }
      throw StorageError.unavailable(location: location, reason: "cannot open \(file): \(String(cString: strerror(errno)))")
    }
    defer { close(fd) }
    posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
    var remaining = Int64.max
    if let range {
      lseek(fd, off_t(range.lowerBound), SEEK_SET)
      remaining = range.upperBound - range.lowerBound + 1
    }
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    while remaining > 0 {
      let wanted = Int(min(Int64(buffer.count), remaining))
      let count = buffer.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, wanted) }
      if count < 0 {
        if errno == EINTR { continue }
        throw StorageError.unavailable(location: location, reason: "read \(file): \(String(cString: strerror(errno)))")
      }
      if count == 0 { break }
      try buffer.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
      remaining -= Int64(count)
    }
  }

  public func head(key: String) throws -> ObjectInfo? {
    var info = stat()
    guard stat(try path(for: key), &info) == 0 else {
      if errno == ENOENT { return nil }
      throw StorageError.unavailable(location: location, reason: String(cString: strerror(errno)))
    }
    return objectInfo(key: key, info)
  }

  public func list(prefix: String) throws -> [ObjectInfo] {
    // The directory part of the prefix narrows the walk; the rest filters names.
    let slash = prefix.lastIndex(of: "/")
    let directoryPrefix = slash.map { String(prefix[...$0]) } ?? ""
    let start = directoryPrefix.isEmpty ? root : root + "/" + String(directoryPrefix.dropLast())
    var results: [ObjectInfo] = []
    var stack: [(String, String)] = [(start, directoryPrefix)]
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: start, isDirectory: &isDirectory), isDirectory.boolValue else {
      if directoryPrefix.isEmpty {
        throw StorageError.unavailable(location: location, reason: "directory not found")
      }
      return []
    }
    while let (directory, keyPrefix) = stack.popLast() {
      guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
        throw StorageError.unavailable(location: location, reason: "cannot list \(directory)")
      }
      for name in names where !name.hasPrefix(LocalObjectStore.temporaryMarker) {
        let full = directory + "/" + name
        let key = keyPrefix + name
        var info = stat()
        guard lstat(full, &info) == 0 else { continue }
        if info.st_mode & S_IFMT == S_IFDIR {
          if key.hasPrefix(prefix) || prefix.hasPrefix(key + "/") { stack.append((full, key + "/")) }
        } else if info.st_mode & S_IFMT == S_IFREG, key.hasPrefix(prefix) {
          results.append(objectInfo(key: key, info))
        }
      }
    }
    return results.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
  }

  public func delete(key: String) throws {
    let file = try path(for: key)
    guard unlink(file) == 0 || errno == ENOENT else {
      throw StorageError.unavailable(location: location, reason: "cannot delete \(file): \(String(cString: strerror(errno)))")
    }
  }

  /// Temporary files left by writers that died, older than `age` seconds.
  public func staleTemporaryFiles(olderThan age: TimeInterval) -> [String] {
    guard let enumerator = FileManager.default.enumerator(atPath: root) else { return [] }
    var stale: [String] = []
    let cutoff = Date().addingTimeInterval(-age).timeIntervalSince1970
    while let relative = enumerator.nextObject() as? String {
      guard (relative as NSString).lastPathComponent.hasPrefix(LocalObjectStore.temporaryMarker) else { continue }
      var info = stat()
      let full = root + "/" + relative
      if stat(full, &info) == 0, Double(info.st_mtim.tv_sec) < cutoff { stale.append(full) }
    }
    return stale
  }

  /// Deletes the temporary files of writes that never committed: here they are what an
  /// interrupted upload leaves behind.
  public func abortStaleUploads(olderThan age: TimeInterval, dryRun: Bool) throws -> Int {
    let stale = staleTemporaryFiles(olderThan: age)
    guard !dryRun else { return stale.count }
    for file in stale where unlink(file) != 0 && errno != ENOENT {
      throw StorageError.unavailable(
        location: location, reason: "cannot delete \(file): \(String(cString: strerror(errno)))")
    }
    return stale.count
  }

  private func objectInfo(key: String, _ info: stat) -> ObjectInfo {
    ObjectInfo(
      key: key, size: Int64(info.st_size),
      lastModified: Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec)))
  }

  private func makeDirectories(_ path: String) throws {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return }
    let parent = (path as NSString).deletingLastPathComponent
    if parent != path && !parent.isEmpty { try makeDirectories(parent) }
    guard mkdir(path, 0o700) == 0 || errno == EEXIST else {
      throw StorageError.unavailable(
        location: "file://\(root)",
        reason: "cannot create directory \(path): \(String(cString: strerror(errno)))")
    }
  }
}

final class LocalObjectWriter: ObjectWriter {
  private var fd: Int32
  private let temporary: String
  private let destination: String
  private let key: String
  private unowned let store: LocalObjectStore
  private var size: Int64 = 0

  init(fd: Int32, temporary: String, destination: String, key: String, store: LocalObjectStore) {
    self.fd = fd
    self.temporary = temporary
    self.destination = destination
    self.key = key
    self.store = store
  }

  deinit { abort() }

  func write(_ bytes: UnsafeRawBufferPointer) throws {
    guard fd >= 0 else { throw StorageError.unavailable(location: store.location, reason: "write after close") }
    var offset = 0
    while offset < bytes.count {
      let count = Foundation.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
      if count < 0 {
        if errno == EINTR { continue }
        throw StorageError.unavailable(
          location: store.location,
          reason: "write \(destination): \(String(cString: strerror(errno)))")
      }
      offset += count
    }
    size += Int64(bytes.count)
  }

  func finish() throws {}

  func commit() throws -> ObjectInfo {
    guard fd >= 0 else { throw StorageError.unavailable(location: store.location, reason: "commit after close") }
    guard fsync(fd) == 0 else {
      throw StorageError.unavailable(location: store.location, reason: "fsync \(temporary): \(String(cString: strerror(errno)))")
    }
    close(fd)
    fd = -1
    guard rename(temporary, destination) == 0 else {
      let reason = String(cString: strerror(errno))
      unlink(temporary)
      TemporaryFiles.unregister(temporary)
      throw StorageError.unavailable(location: store.location, reason: "rename to \(destination): \(reason)")
    }
    TemporaryFiles.unregister(temporary)
    let directory = open((destination as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if directory >= 0 {
      fsync(directory)
      close(directory)
    }
    return ObjectInfo(key: key, size: size, lastModified: Date())
  }

  func abort() {
    guard fd >= 0 else { return }
    close(fd)
    fd = -1
    unlink(temporary)
    TemporaryFiles.unregister(temporary)
  }
}
