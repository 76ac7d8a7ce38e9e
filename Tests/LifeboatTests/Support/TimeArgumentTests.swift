import Foundation
import Lifeboat
import Testing

/// Parsing of `--before`, `--since` and `--until` values.
@Suite struct TimeArgumentTests {
  /// Each input with the UTC instant it names, in ISO 8601.
  static let valid: [(String, String)] = [
    ("2026-12-03", "2026-12-03T00:00:00Z"),
    ("2026-12-03 04:00", "2026-12-03T04:00:00Z"),
    ("2026-12-03 04:00:59", "2026-12-03T04:00:59Z"),
    ("2026-12-03T04:00", "2026-12-03T04:00:00Z"),
    ("2026-12-03T04:00:00Z", "2026-12-03T04:00:00Z"),
    ("  2026-12-03 04:00  ", "2026-12-03T04:00:00Z"),
    // An offset east of UTC moves the instant back across midnight, month and year ends.
    ("2026-12-03 01:30+02:00", "2026-12-02T23:30:00Z"),
    ("2026-03-01T00:30+01:00", "2026-02-28T23:30:00Z"),
    ("2024-03-01T00:30+01:00", "2024-02-29T23:30:00Z"),
    ("2027-01-01T00:30:00+01:00", "2026-12-31T23:30:00Z"),
    // An offset west of UTC moves it forward.
    ("2026-11-30 23:30-01:00", "2026-12-01T00:30:00Z"),
    ("2026-12-31T23:30:00-0130", "2027-01-01T01:00:00Z"),
    ("2026-12-03T04:00+05", "2026-12-02T23:00:00Z"),
    ("2026-12-03 04:00 +02:00", "2026-12-03T02:00:00Z"),
    ("2026-12-03T04:00:00.750Z", "2026-12-03T04:00:00Z"),
  ]

  @Test func acceptedForms() throws {
    for (input, expected) in TimeArgumentTests.valid {
      let date = try #require(TimeArgument.parse(input), "\(input) was rejected")
      #expect(Timestamp.iso8601(date) == expected, "\(input)")
    }
  }

  @Test func fractionKept() throws {
    let date = try #require(TimeArgument.parse("2026-12-03T04:00:00.750Z"))
    #expect(abs(date.timeIntervalSince1970.truncatingRemainder(dividingBy: 1) - 0.75) < 0.000_001)
  }

  @Test func invalidFormsRejected() {
    let invalid = [
      "", "2026-12", "2026-12-3", "26-12-03", "2026/12/03", "2026-13-01", "2026-00-10",
      "2026-02-29", "2026-04-31", "2026-12-03 24:00", "2026-12-03 04:60", "2026-12-03 04:00:60",
      "2026-12-03 4:00", "2026-12-03T04", "2026-12-03 04:00+2", "2026-12-03 04:00+24:00",
      "2026-12-03 04:00 UTC", "2026-12-03 04:00Zjunk", "yesterday", "2026-12-03X04:00",
    ]
    for input in invalid {
      #expect(TimeArgument.parse(input) == nil, "'\(input)' was accepted")
    }
  }

  @Test func leapDayOnlyInLeapYears() {
    #expect(TimeArgument.parse("2024-02-29") != nil)
    #expect(TimeArgument.parse("2000-02-29") != nil)
    #expect(TimeArgument.parse("1900-02-29") == nil)
    #expect(TimeArgument.parse("2026-02-29") == nil)
  }

  @Test func formatIsUTC() throws {
    let date = try #require(TimeArgument.parse("2026-12-03T01:30+02:00"))
    #expect(TimeArgument.format(date) == "2026-12-02 23:30:00 UTC")
  }
}
