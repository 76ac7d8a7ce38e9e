import Foundation
import Lifeboat
import Testing

/// One policy applied to a history, with the ids (time part only) that must survive.
struct RetentionCase: Sendable, CustomTestStringConvertible {
  var name: String
  var policy: RetentionPolicy
  var history: [String]
  /// Surviving ids without the host suffix, newest first, with the rules that keep each.
  var survivors: [(String, [RetentionRule])]

  var testDescription: String { name }
}

/// Makes the id time parts (`20270601T030000Z`) of backups at 03:00, 11:00 and 19:00 UTC on
/// every day from `first` through `last` (`yyyy-mm-dd`).
func retentionHistory(from first: String, through last: String) -> [String] {
  let day = 86_400.0
  let start = Timestamp.parseISO8601(first + "T00:00:00Z")!
  let end = Timestamp.parseISO8601(last + "T00:00:00Z")!
  var times: [String] = []
  var midnight = start
  while midnight <= end {
    for hour in [3.0, 11, 19] {
      times.append(Timestamp.compact(midnight.addingTimeInterval(hour * 3600)))
    }
    midnight = midnight.addingTimeInterval(day)
  }
  return times
}

/// A year of backups, three a day, through 2028-05-31: it crosses the end of 2027 (inside ISO
/// week 2027-W52, which ends on 2028-01-02) and the leap day 2028-02-29.
let retentionYear = retentionHistory(from: "2027-06-01", through: "2028-05-31")

extension RetentionCase {
  static let all: [RetentionCase] = [
    RetentionCase(
      name: "keep_last only", policy: RetentionPolicy(keepLast: 5), history: retentionYear,
      survivors: [
        ("20280531T190000Z", [.last]), ("20280531T110000Z", [.last]), ("20280531T030000Z", [.last]),
        ("20280530T190000Z", [.last]), ("20280530T110000Z", [.last]),
      ]),
    RetentionCase(
      name: "hourly", policy: RetentionPolicy(keepHourly: 4), history: retentionYear,
      survivors: [
        ("20280531T190000Z", [.hourly]), ("20280531T110000Z", [.hourly]),
        ("20280531T030000Z", [.hourly]), ("20280530T190000Z", [.hourly]),
      ]),
    RetentionCase(
      name: "daily", policy: RetentionPolicy(keepDaily: 4), history: retentionYear,
      survivors: [
        ("20280531T190000Z", [.daily]), ("20280530T190000Z", [.daily]),
        ("20280529T190000Z", [.daily]), ("20280528T190000Z", [.daily]),
      ]),
    // 2028-05-31 is a Wednesday: the current week keeps it, earlier weeks their Sunday.
    RetentionCase(
      name: "weekly", policy: RetentionPolicy(keepWeekly: 5), history: retentionYear,
      survivors: [
        ("20280531T190000Z", [.weekly]), ("20280528T190000Z", [.weekly]),
        ("20280521T190000Z", [.weekly]), ("20280514T190000Z", [.weekly]),
        ("20280507T190000Z", [.weekly]),
      ]),
    RetentionCase(
      name: "monthly reaches the leap day", policy: RetentionPolicy(keepMonthly: 4),
      history: retentionYear,
      survivors: [
        ("20280531T190000Z", [.monthly]), ("20280430T190000Z", [.monthly]),
        ("20280331T190000Z", [.monthly]), ("20280229T190000Z", [.monthly]),
      ]),
    // Twelve months have backups, so asking for more keeps those twelve.
    RetentionCase(
      name: "monthly beyond the history", policy: RetentionPolicy(keepMonthly: 24),
      history: retentionYear,
      survivors: [
        ("20280531T190000Z", [.monthly]), ("20280430T190000Z", [.monthly]),
        ("20280331T190000Z", [.monthly]), ("20280229T190000Z", [.monthly]),
        ("20280131T190000Z", [.monthly]), ("20271231T190000Z", [.monthly]),
        ("20271130T190000Z", [.monthly]), ("20271031T190000Z", [.monthly]),
        ("20270930T190000Z", [.monthly]), ("20270831T190000Z", [.monthly]),
        ("20270731T190000Z", [.monthly]), ("20270630T190000Z", [.monthly]),
      ]),
    RetentionCase(
      name: "yearly", policy: RetentionPolicy(keepYearly: 3), history: retentionYear,
      survivors: [("20280531T190000Z", [.yearly]), ("20271231T190000Z", [.yearly])]),
    RetentionCase(
      name: "grandfather-father-son",
      policy: RetentionPolicy(keepLast: 2, keepDaily: 7, keepWeekly: 4, keepMonthly: 6, keepYearly: 2),
      history: retentionYear,
      survivors: [
        ("20280531T190000Z", [.last, .daily, .weekly, .monthly, .yearly]),
        ("20280531T110000Z", [.last]),
        ("20280530T190000Z", [.daily]), ("20280529T190000Z", [.daily]),
        ("20280528T190000Z", [.daily, .weekly]), ("20280527T190000Z", [.daily]),
        ("20280526T190000Z", [.daily]), ("20280525T190000Z", [.daily]),
        ("20280521T190000Z", [.weekly]), ("20280514T190000Z", [.weekly]),
        ("20280430T190000Z", [.monthly]), ("20280331T190000Z", [.monthly]),
        ("20280229T190000Z", [.monthly]), ("20280131T190000Z", [.monthly]),
        ("20271231T190000Z", [.monthly, .yearly]),
      ]),
    // 2027-12-31 is a Friday of ISO week 2027-W52, which runs to Sunday 2028-01-02: the week
    // keeps its Sunday, while the year 2027 keeps its own last backup.
    RetentionCase(
      name: "ISO week across the new year", policy: RetentionPolicy(keepWeekly: 3, keepYearly: 2),
      history: retentionHistory(from: "2027-12-20", through: "2028-01-09"),
      survivors: [
        ("20280109T190000Z", [.weekly, .yearly]), ("20280102T190000Z", [.weekly]),
        ("20271231T190000Z", [.yearly]), ("20271226T190000Z", [.weekly]),
      ]),
    RetentionCase(
      name: "leap day in daily and monthly",
      policy: RetentionPolicy(keepDaily: 3, keepMonthly: 2),
      history: retentionHistory(from: "2028-02-20", through: "2028-02-29") + ["20280301T030000Z"],
      survivors: [
        ("20280301T030000Z", [.daily, .monthly]), ("20280229T190000Z", [.daily, .monthly]),
        ("20280228T190000Z", [.daily]),
      ]),
    RetentionCase(
      name: "year boundary in daily", policy: RetentionPolicy(keepDaily: 2),
      history: retentionHistory(from: "2027-12-30", through: "2027-12-31") + ["20280101T000000Z"],
      survivors: [("20280101T000000Z", [.daily]), ("20271231T190000Z", [.daily])]),
  ]
}

@Suite struct RetentionPolicyTests {
  @Test(arguments: RetentionCase.all)
  func survivorsMatchTable(_ example: RetentionCase) throws {
    let candidates = example.history.map {
      RetentionCandidate(id: $0 + "-web1", status: "complete")!
    }
    let decisions = try example.policy.select(candidates)

    #expect(decisions.count == candidates.count)
    let kept = decisions.filter(\.keep)
    #expect(kept.map(\.id) == example.survivors.map { $0.0 + "-web1" })
    for (decision, expected) in zip(kept, example.survivors) {
      #expect(decision.rules == expected.1, "rules of \(decision.id)")
    }
  }

  @Test func yearHistoryShape() {
    #expect(retentionYear.count == 366 * 3)
    #expect(retentionYear.contains("20280229T110000Z"))
    #expect(retentionYear.first == "20270601T030000Z")
    #expect(retentionYear.last == "20280531T190000Z")
  }

  @Test func decisionsNewestFirst() throws {
    let candidates = ["20280102T000000Z-a", "20280103T000000Z-a", "20280101T000000Z-a"].map {
      RetentionCandidate(id: $0, status: "complete")!
    }
    let decisions = try RetentionPolicy(keepLast: 1).select(candidates)
    #expect(decisions.map(\.id) == ["20280103T000000Z-a", "20280102T000000Z-a", "20280101T000000Z-a"])
    #expect(decisions.map(\.keep) == [true, false, false])
  }

  @Test func sameSecondSuffixIsNewer() throws {
    let candidates = ["20280101T000000Z-web1", "20280101T000000Z-web1-2"].map {
      RetentionCandidate(id: $0, status: "complete")!
    }
    let decisions = try RetentionPolicy(keepLast: 1).select(candidates)
    #expect(decisions.filter(\.keep).map(\.id) == ["20280101T000000Z-web1-2"])
  }

  @Test func emptyPolicyRejected() throws {
    let candidates = [RetentionCandidate(id: "20280101T000000Z-web1", status: "complete")!]
    for policy in [RetentionPolicy(), RetentionPolicy(keepLast: 0, keepDaily: 0)] {
      #expect(policy.isEmpty)
      let error = #expect(throws: LifeboatError.self) { try policy.select(candidates) }
      #expect(error?.code == .usage)
      #expect(error?.message.contains("no retention rule") == true)
    }
  }

  @Test func partialNewerThanValidKept() throws {
    let candidates = [
      RetentionCandidate(id: "20280101T030000Z-web1", status: "complete")!,
      RetentionCandidate(id: "20280102T030000Z-web1", status: "complete")!,
      RetentionCandidate(id: "20280102T110000Z-web1", status: "partial")!,
      RetentionCandidate(id: "20280102T190000Z-web1", status: "partial")!,
    ]
    let decisions = try RetentionPolicy(keepLast: 1).select(candidates)
    let rules = Dictionary(uniqueKeysWithValues: decisions.map { ($0.id, $0.rules) })
    // The partial ones do not take the keep_last slot, so the newest complete one keeps it.
    #expect(rules["20280102T190000Z-web1"] == [.newerPartial])
    #expect(rules["20280102T110000Z-web1"] == [.newerPartial])
    #expect(rules["20280102T030000Z-web1"] == [.last])
    #expect(rules["20280101T030000Z-web1"] == [])
  }

  @Test func olderPartialDeleted() throws {
    // The partial backup is the newest of its day, but a complete one came after it.
    let candidates = [
      RetentionCandidate(id: "20280101T030000Z-web1", status: "complete")!,
      RetentionCandidate(id: "20280101T190000Z-web1", status: "partial")!,
      RetentionCandidate(id: "20280102T030000Z-web1", status: "complete")!,
    ]
    let decisions = try RetentionPolicy(keepDaily: 7).select(candidates)
    let rules = Dictionary(uniqueKeysWithValues: decisions.map { ($0.id, $0.rules) })
    #expect(rules["20280102T030000Z-web1"] == [.daily])
    #expect(rules["20280101T190000Z-web1"] == [])
    #expect(rules["20280101T030000Z-web1"] == [.daily])
  }

  @Test func warningsFillSlots() throws {
    let candidates = [
      RetentionCandidate(id: "20280101T030000Z-web1", status: "complete")!,
      RetentionCandidate(id: "20280102T030000Z-web1", status: "warnings")!,
    ]
    let decisions = try RetentionPolicy(keepLast: 1).select(candidates)
    #expect(decisions.filter(\.keep).map(\.id) == ["20280102T030000Z-web1"])
  }

  @Test func onlyPartialBackupsKept() throws {
    let candidates = [
      RetentionCandidate(id: "20280101T030000Z-web1", status: "partial")!,
      RetentionCandidate(id: "20280102T030000Z-web1", status: "partial")!,
    ]
    let decisions = try RetentionPolicy(keepLast: 1).select(candidates)
    #expect(decisions.allSatisfy { $0.rules == [.newerPartial] })
  }

  @Test func unknownStatusFillsNoSlot() throws {
    let candidates = [
      RetentionCandidate(id: "20280101T030000Z-web1", status: "complete")!,
      RetentionCandidate(id: "20280101T110000Z-web1", status: "complete")!,
      RetentionCandidate(id: "20280101T190000Z-web1", status: "future-status")!,
    ]
    let decisions = try RetentionPolicy(keepLast: 1).select(candidates)
    let rules = Dictionary(uniqueKeysWithValues: decisions.map { ($0.id, $0.rules) })
    #expect(rules["20280101T190000Z-web1"] == [.newerPartial])
    #expect(rules["20280101T110000Z-web1"] == [.last])
    #expect(rules["20280101T030000Z-web1"] == [])
  }

  @Test func emptyHistory() throws {
    #expect(try RetentionPolicy(keepDaily: 3).select([]).isEmpty)
  }
}
