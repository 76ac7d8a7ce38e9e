import Foundation
import Testing

@testable import Lifeboat

/// A clock the test moves by hand.
private final class ManualClock: @unchecked Sendable {
  var now = Date(timeIntervalSince1970: 1_700_000_000)
  func advance(_ seconds: TimeInterval) { now = now.addingTimeInterval(seconds) }
}

/// Collects the breaker's state change messages.
private final class MessageLog: @unchecked Sendable {
  private let lock = NSLock()
  private var stored: [String] = []
  func append(_ message: String) {
    lock.lock()
    stored.append(message)
    lock.unlock()
  }
  var messages: [String] {
    lock.lock()
    defer { lock.unlock() }
    return stored
  }
}

extension StorageTests {
  struct CircuitBreakerTests {
    private func makeBreaker(
      threshold: Int = 3, coolDown: TimeInterval = 30
    ) -> (CircuitBreaker, ManualClock, MessageLog) {
      let clock = ManualClock()
      let log = MessageLog()
      let breaker = CircuitBreaker(
        threshold: threshold, coolDown: coolDown, clock: { clock.now },
        onStateChange: { log.append($0) })
      return (breaker, clock, log)
    }

    @Test func staysClosedBelowThreshold() throws {
      let (breaker, _, log) = makeBreaker()
      for _ in 0..<2 {
        try breaker.acquire()
        breaker.recordFailure()
      }
      try breaker.acquire()
      #expect(breaker.state == .closed)
      #expect(log.messages.isEmpty)
    }

    @Test func successResetsFailureCount() throws {
      let (breaker, _, _) = makeBreaker()
      breaker.recordFailure()
      breaker.recordFailure()
      breaker.recordSuccess()
      breaker.recordFailure()
      breaker.recordFailure()
      #expect(breaker.state == .closed)
    }

    @Test func opensAtThresholdAndFailsFast() throws {
      let (breaker, clock, log) = makeBreaker(threshold: 3, coolDown: 30)
      for _ in 0..<3 { breaker.recordFailure() }
      #expect(breaker.state == .open(until: clock.now.addingTimeInterval(30)))
      #expect(log.messages.count == 1)
      #expect(log.messages.first?.contains("opened after 3 consecutive failures") == true)

      clock.advance(29)
      let error = #expect(throws: CircuitBreaker.OpenError.self) { try breaker.acquire() }
      #expect(error?.consecutiveFailures == 3)
      #expect(error?.retryAfter == 1)
      #expect(error?.description.contains("circuit breaker open") == true)
    }

    @Test func halfOpenLetsOneProbeThrough() throws {
      let (breaker, clock, log) = makeBreaker(threshold: 2, coolDown: 10)
      breaker.recordFailure()
      breaker.recordFailure()
      clock.advance(10)

      try breaker.acquire()
      #expect(breaker.state == .halfOpen)
      #expect(log.messages.last?.contains("half-open") == true)
      #expect(throws: CircuitBreaker.OpenError.self) { try breaker.acquire() }
    }

    @Test func probeSuccessCloses() throws {
      let (breaker, clock, log) = makeBreaker(threshold: 1, coolDown: 5)
      breaker.recordFailure()
      clock.advance(5)
      try breaker.acquire()
      breaker.recordSuccess()
      #expect(breaker.state == .closed)
      #expect(log.messages.last?.contains("closed") == true)
      try breaker.acquire()
      try breaker.acquire()
    }

    @Test func probeFailureReopens() throws {
      let (breaker, clock, log) = makeBreaker(threshold: 1, coolDown: 5)
      breaker.recordFailure()
      clock.advance(6)
      try breaker.acquire()
      breaker.recordFailure()
      #expect(breaker.state == .open(until: clock.now.addingTimeInterval(5)))
      #expect(log.messages.last?.contains("probe request failed") == true)
      #expect(throws: CircuitBreaker.OpenError.self) { try breaker.acquire() }
      clock.advance(5)
      try breaker.acquire()
      #expect(breaker.state == .halfOpen)
    }

    @Test func lostProbeIsReplacedAfterCoolDown() throws {
      let (breaker, clock, _) = makeBreaker(threshold: 1, coolDown: 5)
      breaker.recordFailure()
      clock.advance(5)
      try breaker.acquire()
      clock.advance(4)
      #expect(throws: CircuitBreaker.OpenError.self) { try breaker.acquire() }
      clock.advance(1)
      try breaker.acquire()
      #expect(breaker.state == .halfOpen)
    }

    @Test func staleSuccessKeepsItOpen() throws {
      let (breaker, clock, _) = makeBreaker(threshold: 1, coolDown: 5)
      breaker.recordFailure()
      breaker.recordSuccess()
      #expect(breaker.state == .open(until: clock.now.addingTimeInterval(5)))
    }

    @Test func reportsEveryTransition() throws {
      let (breaker, clock, log) = makeBreaker(threshold: 1, coolDown: 1)
      breaker.recordFailure()
      clock.advance(1)
      try breaker.acquire()
      breaker.recordSuccess()
      #expect(log.messages.count == 3)
      #expect(log.messages[0].contains("opened"))
      #expect(log.messages[1].contains("half-open"))
      #expect(log.messages[2].contains("closed"))
    }
  }
}
