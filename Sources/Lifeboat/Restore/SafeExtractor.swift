import Foundation

/// Writes archive members below one directory and nowhere else.
///
/// Every path is resolved component by component from a descriptor of the root with
/// `O_NOFOLLOW`, so no symlink (from the archive or planted by someone else) is ever followed
/// during extraction. Nothing is overwritten: files and links are created with `O_EXCL`
/// semantics, so a member cannot replace a directory or an earlier member. Devices and FIFOs
/// are rejected. Modes, times and (as root) owners are applied after all data is written.
public final class SafeExtractor: ArchiveExtractor {
  public let root: String
  private let rootFD: Int32
  private let allowExternalSymlinks: Bool
  private var fileFD: Int32 = -1
  private var currentPath: [UInt8] = []
  private var regularFiles = Set<[UInt8]>()
  private var metadata: [(path: [UInt8], entry: TarEntry)] = []
  private var symlinks: [[UInt8]] = []
  private let restoreOwners = geteuid() == 0

  /// Opens `root`, which must be an existing directory.
  /// Makes each file and directory durable with `fsync` before the extraction counts as done.
  /// An in-place restore sets it, because it renames the result over the live files.
  public var syncToDisk = false

  public init(root: String, allowExternalSymlinks: Bool = false) throws {
    self.root = root
    self.allowExternalSymlinks = allowExternalSymlinks
    rootFD = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
    guard rootFD >= 0 else {
      throw ExtractionError.system("cannot open restore directory \(root): \(String(cString: strerror(errno)))")
    }
  }

  deinit {
    if fileFD >= 0 { close(fileFD) }
    close(rootFD)
  }

  public func begin(_ entry: TarEntry, path: [UInt8]) throws {
    let shown = FilePath.display(path)
    var components = path.split(separator: UInt8(ascii: "/")).map(Array.init)
    let name = components.removeLast()
    let parent = try openParent(components, member: shown)
    defer { if parent != rootFD { close(parent) } }
    currentPath = path

    switch entry.type {
    case .directory:
      let status = FilePath(bytes: name).withCString { mkdirat(parent, $0, 0o700) }
      if status != 0 {
        guard errno == EEXIST, isDirectory(parent, name) else {
          throw ExtractionError.unsafeMember(shown, "cannot create directory: \(String(cString: strerror(errno)))")
        }
      }
    case .file:
      fileFD = FilePath(bytes: name).withCString {
        openat(parent, $0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
      }
      guard fileFD >= 0 else {
        throw ExtractionError.unsafeMember(shown, "cannot create file: \(String(cString: strerror(errno)))")
      }
      regularFiles.insert(path)
    case .symlink:
      if !allowExternalSymlinks && !MemberPath.symlinkStaysInside(linkPath: path, target: entry.linkTarget) {
        throw ExtractionError.externalSymlink(shown, FilePath.display(entry.linkTarget))
      }
      let status = FilePath(bytes: entry.linkTarget).withCString { target in
        FilePath(bytes: name).withCString { symlinkat(target, parent, $0) }
      }
      symlinks.append(path)
      guard status == 0 else {
        throw ExtractionError.unsafeMember(shown, "cannot create symlink: \(String(cString: strerror(errno)))")
      }
    case .hardLink:
      let target: [UInt8]
      do {
        target = try MemberPath.normalize(entry.linkTarget)
      } catch ExtractionError.unsafeMember(_, let reason) {
        throw ExtractionError.unsafeMember(
          shown, "hard link target '\(FilePath.display(entry.linkTarget))' is unsafe: \(reason)")
      }
      guard regularFiles.contains(target) else {
        throw ExtractionError.unsafeMember(
          shown, "hard link to '\(FilePath.display(entry.linkTarget))', which is not a file restored before it")
      }
      let status = FilePath(bytes: target).withCString { targetPath in
        FilePath(bytes: name).withCString { linkat(rootFD, targetPath, parent, $0, 0) }
      }
      guard status == 0 else {
        throw ExtractionError.unsafeMember(shown, "cannot create hard link: \(String(cString: strerror(errno)))")
      }
    case .other:
      throw ExtractionError.unsupported(shown, entry.type.name + " (device, FIFO or unknown)")
    }
    if entry.type != .hardLink { metadata.append((path, entry)) }
  }

  public func data(_ bytes: UnsafeRawBufferPointer) throws {
    var offset = 0
    while offset < bytes.count {
      let count = write(fileFD, bytes.baseAddress! + offset, bytes.count - offset)
      if count < 0 {
        if errno == EINTR { continue }
        throw ExtractionError.system("cannot write \(root)/\(FilePath.display(currentPath)): \(String(cString: strerror(errno)))")
      }
      offset += count
    }
  }

  public func end() throws {
    if fileFD >= 0 {
      if syncToDisk && fsync(fileFD) != 0 {
        throw ExtractionError.system("cannot sync \(root)/\(FilePath.display(currentPath)): \(String(cString: strerror(errno)))")
      }
      close(fileFD)
      fileFD = -1
    }
  }

  /// Applies modes, owners and modification times, deepest paths first so that setting a
  /// directory's time is not undone by creating its children.
  public func applyMetadata() throws {
    // The check at creation is lexical; a chain of links (one to `..`, another through it) can
    // still resolve outside. Now that every link exists, resolve each one for real.
    if !allowExternalSymlinks {
      for path in symlinks {
        if let target = resolvedOutside(path) {
          throw ExtractionError.externalSymlink(FilePath.display(path), target)
        }
      }
    }
    for (path, entry) in metadata.reversed() {
      try FilePath(bytes: path).withCString { name in
        if restoreOwners {
          fchownat(rootFD, name, entry.uid, entry.gid, AT_SYMLINK_NOFOLLOW)
        }
        if entry.type != .symlink {
          guard fchmodat(rootFD, name, mode_t(entry.mode & 0o7777), 0) == 0 else {
            throw ExtractionError.system("cannot set the mode of \(FilePath.display(path)): \(String(cString: strerror(errno)))")
          }
        }
        var times = [
          timespec(tv_sec: Int(entry.modificationTime), tv_nsec: Int(entry.modificationNanoseconds)),
          timespec(tv_sec: Int(entry.modificationTime), tv_nsec: Int(entry.modificationNanoseconds)),
        ]
        utimensat(rootFD, name, &times, AT_SYMLINK_NOFOLLOW)
        if syncToDisk && entry.type == .directory {
          let directory = openat(rootFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
          if directory >= 0 {
            fsync(directory)
            close(directory)
          }
        }
      }
    }
    if syncToDisk { fsync(rootFD) }
  }

  /// Resolves the symlink at `path` inside the restore root, following the links it meets (but
  /// never opening anything through them). Returns its target for display when the resolution
  /// leaves the root, or nil when it stays inside.
  private func resolvedOutside(_ path: [UInt8]) -> String? {
    let slash = UInt8(ascii: "/")
    func readLink(_ components: [[UInt8]]) -> [UInt8]? {
      var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
      let relative = FilePath(bytes: Array(components.joined(separator: [slash])))
      let length = relative.withCString { name in
        buffer.withUnsafeMutableBufferPointer { raw in
          raw.baseAddress!.withMemoryRebound(to: CChar.self, capacity: raw.count) {
            readlinkat(rootFD, name, $0, raw.count)
          }
        }
      }
      return length >= 0 ? Array(buffer[..<length]) : nil
    }
    func isLink(_ components: [[UInt8]]) -> Bool {
      var info = stat()
      let relative = FilePath(bytes: Array(components.joined(separator: [slash])))
      let status = relative.withCString { fstatat(rootFD, $0, &info, AT_SYMLINK_NOFOLLOW) }
      return status == 0 && info.st_mode & S_IFMT == S_IFLNK
    }

    let own = path.split(separator: slash).map(Array.init)
    guard let first = readLink(own) else { return nil }
    let shown = FilePath.display(first)
    // Directories resolved so far; each is a real directory (or missing) inside the root.
    var stack = Array(own.dropLast())
    var hops = 0
    // Components still to walk; a link met on the way puts its target's components first.
    var queue: [[UInt8]] = []
    func load(_ target: [UInt8]) -> Bool {
      if target.first == slash { return false }
      queue = target.split(separator: slash).map(Array.init) + queue
      return true
    }
    guard load(first) else { return shown }
    while !queue.isEmpty {
      let component = queue.removeFirst()
      if component == [UInt8(ascii: ".")] { continue }
      if component == [UInt8(ascii: "."), UInt8(ascii: ".")] {
        if stack.isEmpty { return shown }
        stack.removeLast()
        continue
      }
      let candidate = stack + [component]
      if isLink(candidate) {
        hops += 1
        guard hops <= 40, let target = readLink(candidate), load(target) else { return shown }
      } else {
        stack = candidate
      }
    }
    return nil
  }

  /// Opens each directory component below the root without following symlinks, creating
  /// missing ones (0700 until their own member sets the mode).
  private func openParent(_ components: [[UInt8]], member: String) throws -> Int32 {
    var fd = rootFD
    for component in components {
      var next = FilePath(bytes: component).withCString {
        openat(fd, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
      }
      if next < 0 && errno == ENOENT {
        _ = FilePath(bytes: component).withCString { mkdirat(fd, $0, 0o700) }
        next = FilePath(bytes: component).withCString {
          openat(fd, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        }
      }
      let failure = errno
      if fd != rootFD { close(fd) }
      guard next >= 0 else {
        let reason = failure == ELOOP || failure == ENOTDIR
          ? "a parent is a symlink or not a directory" : String(cString: strerror(failure))
        throw ExtractionError.unsafeMember(member, reason)
      }
      fd = next
    }
    return fd
  }

  private func isDirectory(_ parent: Int32, _ name: [UInt8]) -> Bool {
    var info = stat()
    let status = FilePath(bytes: name).withCString { fstatat(parent, $0, &info, AT_SYMLINK_NOFOLLOW) }
    return status == 0 && info.st_mode & S_IFMT == S_IFDIR
  }
}
