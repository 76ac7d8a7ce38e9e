import Foundation
import Testing

@testable import Lifeboat

extension StorageTests {
  struct S3RetryPolicyTests {
    private let policy = S3RetryPolicy(maxAttempts: 5, baseDelay: 0.5, maxDelay: 8)

    @Test func ceilingDoublesUpToMaximum() {
      let ceilings = (1...7).map { policy.ceiling(afterAttempt: $0) }
      #expect(ceilings == [0.5, 1, 2, 4, 8, 8, 8])
    }

    @Test func jitterSpansZeroToCeiling() {
      #expect(policy.delay(afterAttempt: 3, random: { 0 }) == 0)
      #expect(policy.delay(afterAttempt: 3, random: { 0.5 }) == 1)
      let nearTop = policy.delay(afterAttempt: 3, random: { 0.999_999 })
      #expect(nearTop < 2)
      #expect(nearTop > 1.99)
    }

    @Test func randomDelaysStayInBounds() {
      for attempt in 1...10 {
        let ceiling = policy.ceiling(afterAttempt: attempt)
        for _ in 0..<200 {
          let delay = policy.delay(afterAttempt: attempt)
          #expect(delay >= 0)
          #expect(delay < ceiling)
        }
      }
    }

    @Test func retryAfterIsLowerBound() {
      #expect(policy.delay(afterAttempt: 1, retryAfter: 3, random: { 0 }) == 3)
      #expect(policy.delay(afterAttempt: 5, retryAfter: 1, random: { 0.75 }) == 6)
    }

    @Test func retryAfterCappedAtMaximum() {
      #expect(policy.delay(afterAttempt: 1, retryAfter: 3600, random: { 0 }) == 8)
    }

    @Test func largeAttemptDoesNotOverflow() {
      #expect(policy.ceiling(afterAttempt: 10_000) == 8)
    }

    @Test func parsesRetryAfterSeconds() {
      let now = Date()
      #expect(S3RetryPolicy.parseRetryAfter("2", now: now) == 2)
      #expect(S3RetryPolicy.parseRetryAfter(" 0 ", now: now) == 0)
      #expect(S3RetryPolicy.parseRetryAfter("soon", now: now) == nil)
    }

    @Test func parsesRetryAfterDate() {
      let now = Date(timeIntervalSince1970: 1_445_412_480)  // Wed, 21 Oct 2015 07:28:00 GMT
      let delay = S3RetryPolicy.parseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now: now)
      #expect(delay == 30)
    }
  }
}
