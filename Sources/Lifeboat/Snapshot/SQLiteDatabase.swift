import CSQLite
import Foundation

/// A failed SQLite call, with the library's message and the database it concerned.
public struct SQLiteError: Error, CustomStringConvertible {
  public var path: String
  public var code: Int32
  public var message: String

  public var description: String { "\(path): \(message) (SQLite code \(code))" }

  /// `SQLITE_BUSY` or `SQLITE_LOCKED`: another connection holds a lock.
  public var isBusy: Bool { code & 0xff == SQLITE_BUSY || code & 0xff == SQLITE_LOCKED }
  /// `SQLITE_NOTADB`: not a database, or an encrypted one.
  public var isNotADatabase: Bool { code & 0xff == SQLITE_NOTADB }
  /// `SQLITE_CORRUPT`.
  public var isCorrupt: Bool { code & 0xff == SQLITE_CORRUPT }
}

/// A thin connection wrapper: open, run statements, read rows of text.
public final class SQLiteDatabase {
  public let path: String
  let handle: OpaquePointer

  /// Opens `path`. `readOnly` connections never write to the file, and a read-only connection
  /// to a WAL database does not checkpoint on close.
  public init(path: String, readOnly: Bool, create: Bool = false) throws {
    self.path = path
    var connection: OpaquePointer?
    var flags = readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE
    if create { flags |= SQLITE_OPEN_CREATE }
    flags |= SQLITE_OPEN_NOMUTEX
    let status = sqlite3_open_v2(path, &connection, flags, nil)
    guard status == SQLITE_OK, let connection else {
      let message = connection.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
      sqlite3_close_v2(connection)
      throw SQLiteError(path: path, code: status, message: message)
    }
    handle = connection
    sqlite3_extended_result_codes(handle, 1)
  }

  deinit { sqlite3_close_v2(handle) }

  public func setBusyTimeout(milliseconds: Int32) {
    lb_sqlite_busy_timeout(handle, milliseconds)
  }

  func error(_ code: Int32) -> SQLiteError {
    SQLiteError(path: path, code: code, message: String(cString: sqlite3_errmsg(handle)))
  }

  /// Runs `sql` and returns every row as text columns.
  @discardableResult
  public func query(_ sql: String) throws -> [[String?]] {
    var statement: OpaquePointer?
    let prepared = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
    guard prepared == SQLITE_OK, let statement else { throw error(prepared) }
    defer { sqlite3_finalize(statement) }

    var rows: [[String?]] = []
    while true {
      let status = sqlite3_step(statement)
      if status == SQLITE_DONE { break }
      guard status == SQLITE_ROW else { throw error(status) }
      let columns = sqlite3_column_count(statement)
      var row: [String?] = []
      for column in 0..<columns {
        if let text = sqlite3_column_text(statement, column) {
          row.append(String(cString: text))
        } else {
          row.append(nil)
        }
      }
      rows.append(row)
    }
    return rows
  }

  public func integer(_ sql: String) throws -> Int64 {
    guard let text = try query(sql).first?.first ?? nil, let value = Int64(text) else {
      throw SQLiteError(path: path, code: SQLITE_ERROR, message: "no integer result for \(sql)")
    }
    return value
  }

  /// Runs `PRAGMA quick_check` or `integrity_check` and returns the problems found (empty when ok).
  public func check(thorough: Bool) throws -> [String] {
    let rows = try query(thorough ? "PRAGMA integrity_check(100)" : "PRAGMA quick_check(100)")
    let messages = rows.compactMap { $0.first ?? nil }
    return messages == ["ok"] ? [] : messages
  }

  /// Runs `PRAGMA foreign_key_check` and returns one line per violation.
  public func foreignKeyViolations() throws -> [String] {
    try query("PRAGMA foreign_key_check").map { row in
      "table \(row[0] ?? "?") rowid \(row[1] ?? "?") references \(row[2] ?? "?")"
    }
  }
}
