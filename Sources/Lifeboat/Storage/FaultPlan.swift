import Foundation

/// Fractions of calls that fail on purpose, for recovery drills and tests.
///
/// Written `put:0.1,get:0.05,read:0.01,seed:42`: `put`, `get`, `head`, `list` and `delete` make
/// object store calls fail with `StorageError.unavailable`, and `read` makes reads of source files
/// during a backup fail with EIO. `seed` makes the choice of failing calls repeatable.
public struct FaultPlan: Sendable, Equatable {
  public enum Kind: String, Sendable, CaseIterable {
    case put, get, head, list, delete, read
  }

  public var rates: [Kind: Double] = [:]
  /// Seed of the generator that picks failing calls, or nil for a random seed.
  public var seed: UInt64?

  public init(rates: [Kind: Double] = [:], seed: UInt64? = nil) {
    self.rates = rates
    self.seed = seed
  }

  /// True when some kind of call has a fault rate above zero.
  public var isActive: Bool { rates.values.contains { $0 > 0 } }

  /// Parses `put:0.1,get:0.05,seed:42`. `source` names where the text came from, for errors.
  public static func parse(_ text: String, source: String) throws -> FaultPlan {
    var plan = FaultPlan()
    let kinds = Kind.allCases.map(\.rawValue).joined(separator: ", ")
    for item in text.split(separator: ",") {
      let parts = item.split(separator: ":", maxSplits: 1).map {
        $0.trimmingCharacters(in: .whitespaces)
      }
      guard parts.count == 2 else {
        throw LifeboatError(
          .configuration, "\(source): invalid fault '\(item)': expected KIND:RATE or seed:N",
          hint: "write e.g. put:0.1,get:0.05,read:0.01,seed:42 (kinds: \(kinds))")
      }
      if parts[0] == "seed" {
        guard let seed = UInt64(parts[1]) else {
          throw LifeboatError(
            .configuration, "\(source): invalid fault seed '\(parts[1])': expected a whole number")
        }
        plan.seed = seed
        continue
      }
      guard let kind = Kind(rawValue: parts[0]) else {
        throw LifeboatError(
          .configuration, "\(source): unknown fault kind '\(parts[0])'",
          hint: "kinds are \(kinds), and seed")
      }
      guard let rate = Double(parts[1]), rate >= 0, rate <= 1 else {
        throw LifeboatError(
          .configuration,
          "\(source): invalid fault rate '\(parts[1])' for \(kind.rawValue): expected a number from 0 to 1")
      }
      plan.rates[kind] = rate
    }
    return plan
  }

  /// `put 10%, read 1%, seed 42`, for the warning logged when faults are on.
  public var summary: String {
    var parts = Kind.allCases.compactMap { kind -> String? in
      guard let rate = rates[kind], rate > 0 else { return nil }
      return "\(kind.rawValue) \(String(format: "%g", rate * 100))%"
    }
    if let seed { parts.append("seed \(seed)") }
    return parts.joined(separator: ", ")
  }
}
