import Foundation

/// A rule of a retention policy; its raw value is the name shown in prune's output.
public enum RetentionRule: String, Sendable, CaseIterable, Comparable {
  case last
  case hourly
  case daily
  case weekly
  case monthly
  case yearly
  /// A partial backup newer than the newest backup that stored every source. It may contain the
  /// only copy of the sources that could be read, so it stays until a full backup replaces it.
  case newerPartial = "newer-partial"
  /// The newest complete backup, kept even when no rule selects it.
  case newest
  /// An encrypted backup whose status cannot be read without a key, kept outside the policy
  /// because deleting it could lose the copy that matters. `select` never returns this rule.
  case statusUnknown = "status-unknown"

  public static func < (lhs: RetentionRule, rhs: RetentionRule) -> Bool {
    let order = RetentionRule.allCases
    return order.firstIndex(of: lhs)! < order.firstIndex(of: rhs)!
  }
}

/// The input of retention for one backup: its id, the time taken from the id, and its status.
public struct RetentionCandidate: Sendable, Equatable {
  public var id: String
  public var time: Date
  /// The manifest's `status`: `complete`, `warnings` or `partial`.
  public var status: String

  public init(id: String, time: Date, status: String) {
    self.id = id
    self.time = time
    self.status = status
  }

  /// Creates a candidate from a backup id, or returns nil when the id carries no time.
  public init?(id: String, status: String) {
    guard let time = BackupID.time(of: id) else { return nil }
    self.init(id: id, time: time, status: status)
  }

  /// True for backups that may fill a retention slot: every source was stored.
  public var isValid: Bool { status == "complete" || status == "warnings" }
}

/// The retention decision for one backup.
public struct RetentionDecision: Sendable, Equatable {
  public var id: String
  /// The rules that keep the backup. Empty when the backup is to be deleted.
  public var rules: [RetentionRule]

  public var keep: Bool { !rules.isEmpty }
}

/// How many backups to keep, grandfather-father-son style.
///
/// Each period rule keeps the newest backup in each of the N most recent periods (hours, days,
/// ISO weeks, months, years) that have a backup. `keepLast` keeps the N newest backups. A backup
/// kept by any rule stays. Periods are UTC and come from the time in the backup id, never from
/// storage timestamps, which change when objects are copied between repositories.
public struct RetentionPolicy: Sendable, Equatable {
  public var keepLast = 0
  public var keepHourly = 0
  public var keepDaily = 0
  public var keepWeekly = 0
  public var keepMonthly = 0
  public var keepYearly = 0

  public init(
    keepLast: Int = 0, keepHourly: Int = 0, keepDaily: Int = 0, keepWeekly: Int = 0,
    keepMonthly: Int = 0, keepYearly: Int = 0
  ) {
    self.keepLast = keepLast
    self.keepHourly = keepHourly
    self.keepDaily = keepDaily
    self.keepWeekly = keepWeekly
    self.keepMonthly = keepMonthly
    self.keepYearly = keepYearly
  }

  /// Settings keys of `[retention]` and the rule each one sets.
  public static let settingNames: [(name: String, rule: RetentionRule)] = [
    ("retention.keep_last", .last), ("retention.keep_hourly", .hourly),
    ("retention.keep_daily", .daily), ("retention.keep_weekly", .weekly),
    ("retention.keep_monthly", .monthly), ("retention.keep_yearly", .yearly),
  ]

  /// Reads the policy from the `[retention]` settings. A key that is not set turns its rule off.
  public init(configuration: Configuration) throws {
    self.init()
    for (name, rule) in RetentionPolicy.settingNames {
      guard let count = try configuration.integer(name) else { continue }
      self[rule] = count
    }
  }

  /// The count of a rule, where 0 turns the rule off.
  public subscript(rule: RetentionRule) -> Int {
    get {
      switch rule {
      case .last: return keepLast
      case .hourly: return keepHourly
      case .daily: return keepDaily
      case .weekly: return keepWeekly
      case .monthly: return keepMonthly
      case .yearly: return keepYearly
      case .newerPartial, .newest, .statusUnknown: return 0
      }
    }
    set {
      switch rule {
      case .last: keepLast = newValue
      case .hourly: keepHourly = newValue
      case .daily: keepDaily = newValue
      case .weekly: keepWeekly = newValue
      case .monthly: keepMonthly = newValue
      case .yearly: keepYearly = newValue
      case .newerPartial, .newest, .statusUnknown: break
      }
    }
  }

  /// True when no rule keeps anything. Such a policy would delete every backup, so `select`
  /// rejects it.
  public var isEmpty: Bool {
    RetentionPolicy.settingNames.allSatisfy { self[$0.rule] <= 0 }
  }

  /// The policy as `keep_daily=7 keep_weekly=4`, for logs and messages.
  public var summary: String {
    RetentionPolicy.settingNames.compactMap { name, rule in
      self[rule] > 0 ? "\(name.dropFirst("retention.".count))=\(self[rule])" : nil
    }.joined(separator: " ")
  }

  /// Throws the usage error for an empty policy.
  public func validate() throws {
    guard isEmpty else { return }
    throw LifeboatError(
      .usage, "no retention rule given: prune deletes nothing without one",
      hint: "pass at least one of --keep-last, --keep-hourly, --keep-daily, --keep-weekly, "
        + "--keep-monthly, --keep-yearly (or set keep_* in [retention]), e.g. --keep-daily 7")
  }

  /// Decides which backups to keep.
  ///
  /// Only `complete` and `warnings` backups fill slots. A `partial` backup (or one with a status
  /// this version does not know) is kept only while it is newer than the newest valid backup.
  /// The newest valid backup is always kept.
  ///
  /// - Returns: one decision per candidate, newest first.
  /// - Throws: the usage error of `validate()` when the policy is empty.
  public func select(_ candidates: [RetentionCandidate]) throws -> [RetentionDecision] {
    try validate()
    let newestFirst = candidates.sorted { ($0.time, $0.id) > ($1.time, $1.id) }
    let valid = newestFirst.filter(\.isValid)
    var rules: [String: Set<RetentionRule>] = [:]

    for (index, backup) in valid.enumerated() where index < keepLast {
      rules[backup.id, default: []].insert(.last)
    }
    for rule in [RetentionRule.hourly, .daily, .weekly, .monthly, .yearly] where self[rule] > 0 {
      var lastPeriod: Int?
      var periods = 0
      // Newest first, so the first backup of each new period is the newest in that period.
      for backup in valid {
        let period = RetentionPeriod.index(of: backup.time, rule: rule)
        guard period != lastPeriod else { continue }
        lastPeriod = period
        periods += 1
        if periods > self[rule] { break }
        rules[backup.id, default: []].insert(rule)
      }
    }
    if let newest = valid.first, rules[newest.id, default: []].isEmpty {
      rules[newest.id] = [.newest]
    }
    let newestValidTime = valid.first?.time
    for backup in newestFirst where !backup.isValid {
      if let newestValidTime, (backup.time, backup.id) < (newestValidTime, valid[0].id) { continue }
      rules[backup.id, default: []].insert(.newerPartial)
    }

    return newestFirst.map { RetentionDecision(id: $0.id, rules: (rules[$0.id] ?? []).sorted()) }
  }
}

/// Numbers the UTC hours, days, ISO weeks, months and years, so that two times fall in the same
/// period exactly when their numbers are equal.
enum RetentionPeriod {
  static func index(of time: Date, rule: RetentionRule) -> Int {
    let seconds = Int(time.timeIntervalSince1970.rounded(.down))
    let day = floorDivide(seconds, 86_400)
    switch rule {
    case .hourly:
      return floorDivide(seconds, 3_600)
    case .daily:
      return day
    case .weekly:
      // ISO weeks start on Monday. 1970-01-01 was a Thursday, 3 days after a Monday, so the
      // Monday on or before `day` is day - (day + 3) mod 7, which numbers the week.
      return day - floorModulo(day + 3, 7)
    case .monthly:
      let parts = utcFields(seconds)
      return Int(parts.tm_year) * 12 + Int(parts.tm_mon)
    case .yearly:
      return Int(utcFields(seconds).tm_year)
    case .last, .newerPartial, .newest, .statusUnknown:
      return seconds
    }
  }

  private static func utcFields(_ seconds: Int) -> tm {
    var time = time_t(seconds)
    var parts = tm()
    gmtime_r(&time, &parts)
    return parts
  }

  private static func floorDivide(_ value: Int, _ divisor: Int) -> Int {
    let quotient = value / divisor
    return value % divisor < 0 ? quotient - 1 : quotient
  }

  private static func floorModulo(_ value: Int, _ divisor: Int) -> Int {
    let remainder = value % divisor
    return remainder < 0 ? remainder + divisor : remainder
  }
}
