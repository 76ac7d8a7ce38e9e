import CCurl
import CSQLite
import CZlib
import CZstd
import CCrypto

enum LibraryVersions {
  static var summary: String {
    let sqlite = String(cString: sqlite3_libversion())
    let zlib = String(cString: zlibVersion())
    let curl = String(cString: curl_version())
    let zstd = String(cString: ZSTD_versionString())
    let openssl = String(cString: OpenSSL_version(0))
    return "sqlite \(sqlite), zlib \(zlib), zstd \(zstd), \(openssl), \(curl)"
  }
}
