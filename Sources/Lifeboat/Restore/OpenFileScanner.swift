import Foundation

/// A process that has one of the inspected files open.
public struct OpenFileHolder: Sendable, Equatable {
  public var pid: Int32
  /// The process name from /proc/PID/comm.
  public var command: String
  public var path: String
}

/// Finds the processes that have a file open by reading every /proc/PID/fd.
///
/// A restore must not swap a database that a running process has open, because that process
/// keeps reading and writing the old file through its descriptor. lifeboat scans descriptors
/// rather than probing locks with `fcntl(F_GETLK)`: SQLite holds no lock on a database while
/// a connection sits idle in rollback-journal mode, and in WAL mode only a shared lock on the
/// `-shm` file, so a lock probe misses open connections that the descriptor scan finds.
///
/// Limits: only Linux has /proc/PID/fd. Without root, other users' processes cannot be
/// inspected, and they are counted in `uninspected` so the caller can say the check was
/// incomplete. Processes in other PID namespaces (other containers) are not visible.
public enum OpenFileScanner {
  public struct Result: Sendable {
    public var holders: [OpenFileHolder]
    /// Processes whose descriptors could not be read (permission denied).
    public var uninspected: Int
  }

  /// Returns the processes other than this one that have any of `paths` open. Paths that do
  /// not exist are ignored. Files are matched by device and inode, so hard links and renamed
  /// files are found too.
  public static func holders(of paths: [String], procRoot: String = "/proc") -> Result {
    var targets: [FileIdentity: String] = [:]
    for path in paths {
      var info = stat()
      if stat(path, &info) == 0 { targets[FileIdentity(info)] = path }
    }
    guard !targets.isEmpty else { return Result(holders: [], uninspected: 0) }

    var result = Result(holders: [], uninspected: 0)
    let ownPID = getpid()
    let processes = (try? directoryEntries(FilePath(procRoot))) ?? []
    for name in processes {
      guard let pid = Int32(String(decoding: name, as: UTF8.self)), pid != ownPID else { continue }
      let fdDirectory = "\(procRoot)/\(pid)/fd"
      let descriptors: [[UInt8]]
      do {
        descriptors = try directoryEntries(FilePath(fdDirectory))
      } catch let error as SystemError {
        if error.errno == EACCES || error.errno == EPERM { result.uninspected += 1 }
        continue
      } catch {
        continue
      }

      var seen = Set<String>()
      for descriptor in descriptors {
        var info = stat()
        // stat follows the magic link to the open file itself, even when it was unlinked.
        let link = fdDirectory + "/" + String(decoding: descriptor, as: UTF8.self)
        guard stat(link, &info) == 0, let path = targets[FileIdentity(info)] else { continue }
        guard seen.insert(path).inserted else { continue }
        result.holders.append(OpenFileHolder(pid: pid, command: processName(pid, procRoot), path: path))
      }
    }
    return result
  }

  private static func processName(_ pid: Int32, _ procRoot: String) -> String {
    guard let bytes = readWholeFile("\(procRoot)/\(pid)/comm", limit: 4096) else { return "?" }
    return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
  }
}

private struct FileIdentity: Hashable {
  var device: UInt64
  var inode: UInt64

  init(_ info: stat) {
    device = UInt64(info.st_dev)
    inode = UInt64(info.st_ino)
  }
}
