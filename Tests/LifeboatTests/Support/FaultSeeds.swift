@testable import Lifeboat

enum FaultSeeds {
  /// Returns the first seed whose successive `kind` calls at a 50% rate fail exactly as
  /// `outcomes` lists (true: that call fails), so a test can aim a fault at one call.
  static func first(_ kind: FaultPlan.Kind, outcomes: [Bool]) -> Int? {
    (0..<1000).first { seed in
      let injector = FaultInjector(plan: FaultPlan(rates: [kind: 0.5], seed: UInt64(seed)))
      return outcomes.allSatisfy { injector.shouldFail(kind) == $0 }
    }
  }
}
