import Foundation

/// Renames `source` to `destination` and fails with `EEXIST` when the destination exists,
/// where plain `rename(2)` would silently replace a file or an empty directory.
///
/// Uses Linux `renameat2(2)` with `RENAME_NOREPLACE` (glibc 2.28+, kernel 3.15+). Swift's Glibc
/// module does not import it, so it is looked up at run time. When the function or the file
/// system does not support the flag, it falls back to `lstat` then `rename`, which leaves a
/// short window in which another process could create the destination.
func renameNoReplace(_ source: String, _ destination: String) throws {
  if let renameat2 = RenameAt2.function {
    let status = renameat2(AT_FDCWD, source, AT_FDCWD, destination, RenameAt2.noReplace)
    if status == 0 { return }
    guard errno == EINVAL || errno == ENOSYS else {
      throw SystemError("rename \(source) to", path: destination)
    }
  }

  var info = stat()
  if lstat(destination, &info) == 0 {
    throw SystemError("rename \(source) to", path: destination, errno: EEXIST)
  }
  guard rename(source, destination) == 0 else {
    throw SystemError("rename \(source) to", path: destination)
  }
}

private enum RenameAt2 {
  typealias Function = @convention(c) (
    Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32
  ) -> Int32

  /// `RENAME_NOREPLACE` from <linux/fs.h>.
  static let noReplace: UInt32 = 1

  /// A nil handle is glibc's `RTLD_DEFAULT`: search every loaded library.
  static let function: Function? = {
    guard let symbol = dlsym(nil, "renameat2") else { return nil }
    return unsafeBitCast(symbol, to: Function.self)
  }()
}
