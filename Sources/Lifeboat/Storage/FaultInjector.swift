import Foundation

/// Picks the calls that fail under a `FaultPlan`. Thread-safe.
///
/// Each kind has its own generator derived from the seed, so with one seed the `put` faults fall
/// on the same calls whether or not `get` or `read` faults are on too.
public final class FaultInjector: @unchecked Sendable {
  public let plan: FaultPlan
  private let lock = NSLock()
  private var generators: [FaultPlan.Kind: SplitMix64] = [:]

  public init(plan: FaultPlan) {
    self.plan = plan
    let seed = plan.seed ?? UInt64.random(in: 0...UInt64.max)
    for (index, kind) in FaultPlan.Kind.allCases.enumerated() {
      generators[kind] = SplitMix64(seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
    }
  }

  /// Returns true when this call of `kind` is to fail.
  public func shouldFail(_ kind: FaultPlan.Kind) -> Bool {
    guard let rate = plan.rates[kind], rate > 0 else { return false }
    lock.lock()
    defer { lock.unlock() }
    guard var generator = generators[kind] else { return false }
    let draw = Double(generator.next() >> 11) / Double(1 << 53)
    generators[kind] = generator
    return draw < rate
  }
}

/// The SplitMix64 generator: small, fast and repeatable for a seed.
private struct SplitMix64 {
  private var state: UInt64

  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
