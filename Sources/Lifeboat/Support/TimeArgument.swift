import Foundation

/// Parses a point in time given on the command line, such as `--before "2026-12-03 04:00"`.
///
/// Accepted forms are `YYYY-MM-DD`, `YYYY-MM-DD HH:MM`, `YYYY-MM-DD HH:MM:SS` and the ISO 8601
/// spelling with `T` between date and time. Seconds may carry a fraction (`04:00:00.250`).
/// A time may end with `Z` or an offset `+HH:MM`, `-HH:MM`, `+HHMM` or `+HH`, optionally after
/// one space. Without an offset the time is UTC, never the machine's local zone, because backup
/// ids are UTC and a restore on a new host must not depend on its zone setting.
public enum TimeArgument {
  /// The accepted forms, for error messages and help.
  public static let formats =
    "YYYY-MM-DD, 'YYYY-MM-DD HH:MM[:SS]' or YYYY-MM-DDTHH:MM[:SS], in UTC unless followed by Z or an offset such as +02:00"

  /// Returns the instant `text` names, or nil when it is not one of the accepted forms or a
  /// field is out of range (month 13, February 30, hour 24).
  public static func parse(_ text: String) -> Date? {
    var scanner = DigitScanner(Array(text.trimmingCharacters(in: .whitespaces).utf8))
    guard let year = scanner.number(digits: 4), scanner.skip("-"),
      let month = scanner.number(digits: 2), scanner.skip("-"),
      let day = scanner.number(digits: 2)
    else { return nil }
    guard (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day) else {
      return nil
    }

    var hour = 0
    var minute = 0
    var second = 0
    var fraction = 0.0
    var offsetSeconds = 0
    if !scanner.atEnd {
      guard scanner.skip("T") || scanner.skip("t") || scanner.skip(" ") else { return nil }
      guard let parsedHour = scanner.number(digits: 2), scanner.skip(":"),
        let parsedMinute = scanner.number(digits: 2)
      else { return nil }
      hour = parsedHour
      minute = parsedMinute
      if scanner.skip(":") {
        guard let parsedSecond = scanner.number(digits: 2) else { return nil }
        second = parsedSecond
        if scanner.skip(".") || scanner.skip(",") {
          guard let digits = scanner.digitRun(), digits.count <= 9 else { return nil }
          fraction = Double("0." + digits) ?? 0
        }
      }
      guard hour < 24, minute < 60, second < 60 else { return nil }

      _ = scanner.skip(" ")
      if !scanner.atEnd {
        guard let offset = scanner.offset() else { return nil }
        offsetSeconds = offset
      }
    }
    guard scanner.atEnd else { return nil }

    var parts = tm()
    parts.tm_year = Int32(year - 1900)
    parts.tm_mon = Int32(month - 1)
    parts.tm_mday = Int32(day)
    parts.tm_hour = Int32(hour)
    parts.tm_min = Int32(minute)
    parts.tm_sec = Int32(second)
    let utcSeconds = timegm(&parts)
    return Date(timeIntervalSince1970: TimeInterval(utcSeconds - offsetSeconds) + fraction)
  }

  /// Formats an instant for messages: `2026-12-03 04:00:00 UTC`.
  public static func format(_ date: Date) -> String {
    var time = time_t(date.timeIntervalSince1970.rounded(.down))
    var parts = tm()
    gmtime_r(&time, &parts)
    return String(
      format: "%04d-%02d-%02d %02d:%02d:%02d UTC", parts.tm_year + 1900, parts.tm_mon + 1,
      parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec)
  }

  private static func daysIn(month: Int, year: Int) -> Int {
    switch month {
    case 2:
      let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
      return leap ? 29 : 28
    case 4, 6, 9, 11:
      return 30
    default:
      return 31
    }
  }
}

/// A cursor over ASCII bytes that reads fixed-width decimal fields.
private struct DigitScanner {
  let bytes: [UInt8]
  var index = 0

  init(_ bytes: [UInt8]) { self.bytes = bytes }

  var atEnd: Bool { index == bytes.count }

  mutating func skip(_ character: Character) -> Bool {
    guard index < bytes.count, let ascii = character.asciiValue, bytes[index] == ascii else {
      return false
    }
    index += 1
    return true
  }

  mutating func number(digits: Int) -> Int? {
    guard index + digits <= bytes.count else { return nil }
    var value = 0
    for byte in bytes[index..<(index + digits)] {
      guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
      value = value * 10 + Int(byte - UInt8(ascii: "0"))
    }
    index += digits
    return value
  }

  mutating func digitRun() -> String? {
    let start = index
    while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
      index += 1
    }
    guard index > start else { return nil }
    return String(decoding: bytes[start..<index], as: UTF8.self)
  }

  /// Reads `Z`, `+HH`, `+HHMM` or `+HH:MM` (or with `-`) and returns the offset east of UTC in
  /// seconds.
  mutating func offset() -> Int? {
    if skip("Z") || skip("z") { return 0 }
    let sign: Int
    if skip("+") {
      sign = 1
    } else if skip("-") {
      sign = -1
    } else {
      return nil
    }
    guard let hours = number(digits: 2), hours < 24 else { return nil }
    var minutes = 0
    if !atEnd {
      _ = skip(":")
      guard let parsed = number(digits: 2), parsed < 60 else { return nil }
      minutes = parsed
    }
    return sign * (hours * 3600 + minutes * 60)
  }
}
