import Foundation

/// A backup's archive copied from the repository to a local file, with the SHA-256 and size
/// of the bytes that arrived.
public struct ArchiveDownload: Sendable {
  public var path: String
  public var sha256: String
  public var bytes: Int64

  /// Copies the archive of `record` to `path`, which must not exist. The file is created 0600
  /// and registered as temporary, so it is deleted on every exit path, signals included.
  ///
  /// - Throws: `StorageError` from the store, `SystemError` from the local file, or
  ///   `InterruptedError` when a signal is pending.
  public static func fetch(_ record: BackupRecord, from store: ObjectStore, to path: String) throws -> ArchiveDownload {
    guard let archive = record.manifest.archive else {
      throw LifeboatError(.dataError, "manifest of backup \(record.id) names no archive")
    }
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw SystemError("create", path: path) }
    TemporaryFiles.register(path)
    let file = DescriptorSink(fd: fd, path: path)
    defer { close(fd) }

    let hashing = HashingSink(next: file)
    do {
      try store.read(key: archive.key, range: nil, into: hashing)
      try hashing.finish()
    } catch {
      remove(path)
      throw error
    }
    return ArchiveDownload(path: path, sha256: hashing.digest.hexString, bytes: hashing.byteCount)
  }

  /// Deletes a downloaded archive.
  public static func remove(_ path: String) {
    unlink(path)
    TemporaryFiles.unregister(path)
  }
}

/// Writes a stream to an open file descriptor. The copy is temporary, so it is not synced.
private final class DescriptorSink: ByteSink {
  let fd: Int32
  let path: String

  init(fd: Int32, path: String) {
    self.fd = fd
    self.path = path
  }

  func write(_ bytes: UnsafeRawBufferPointer) throws {
    if let signal = Interruption.pending { throw InterruptedError(signal: signal) }
    var offset = 0
    while offset < bytes.count {
      let count = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else { throw SystemError("write", path: path) }
      offset += count
    }
  }

  func finish() throws {}
}
