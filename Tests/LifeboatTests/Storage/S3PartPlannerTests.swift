import Testing

@testable import Lifeboat

extension StorageTests {
  struct S3PartPlannerTests {
    private static let kib: Int64 = 1 << 10
    private static let mib: Int64 = 1 << 20
    private static let gib: Int64 = 1 << 30
    private static let tib: Int64 = 1 << 40

    struct Case: CustomTestStringConvertible, Sendable {
      var objectSize: Int64
      var configured: Int64
      var partSize: Int64
      var partCount: Int
      var testDescription: String { "\(objectSize) B @ \(configured) B" }
    }

    @Test(arguments: [
      Case(objectSize: 12 * mib, configured: 1 * kib, partSize: 5 * mib, partCount: 3),
      Case(objectSize: 10_000 * 5 * mib, configured: 5 * mib, partSize: 5 * mib, partCount: 10_000),
      Case(
        objectSize: 10_000 * 5 * mib + 1, configured: 5 * mib, partSize: 6 * mib, partCount: 8_334),
      Case(objectSize: 90 * gib, configured: 8 * mib, partSize: 10 * mib, partCount: 9_216),
      Case(objectSize: 250 * gib, configured: 10 * mib, partSize: 26 * mib, partCount: 9_847),
      Case(objectSize: 5 * tib, configured: 5 * mib, partSize: 525 * mib, partCount: 9_987),
      Case(objectSize: 0, configured: 8 * mib, partSize: 8 * mib, partCount: 1),
      Case(objectSize: 1, configured: 8 * mib + 1, partSize: 9 * mib, partCount: 1),
      Case(objectSize: 100 * gib, configured: 6 * gib, partSize: 5 * gib, partCount: 20),
    ])
    func plan(_ example: Case) throws {
      let plan = try S3PartPlanner.plan(
        objectSize: example.objectSize, configuredPartSize: example.configured)
      #expect(plan.partSize == example.partSize)
      #expect(plan.partCount == example.partCount)
      #expect(plan.partSize % Self.mib == 0)
      #expect(plan.partCount <= S3PartPlanner.maxPartCount)
    }

    @Test func rejectsOverFiveTebibytes() {
      let error = #expect(throws: S3PartPlanner.TooLargeError.self) {
        try S3PartPlanner.plan(objectSize: 5 * Self.tib + 1, configuredPartSize: 5 * Self.mib)
      }
      #expect(error?.size == 5 * Self.tib + 1)
      #expect(error?.description.contains("5 TiB") == true)
    }

    @Test func remainingPartsRaisePartSize() {
      // 1 GiB left for 100 parts needs 10.24 MiB parts, rounded up to 11 MiB.
      let size = S3PartPlanner.partSize(
        remainingBytes: Self.gib, remainingParts: 100, configuredPartSize: 8 * Self.mib)
      #expect(size == 11 * Self.mib)
    }

    @Test func noRemainingPartsCapsAtMaximum() {
      let size = S3PartPlanner.partSize(
        remainingBytes: Self.tib, remainingParts: 0, configuredPartSize: 8 * Self.mib)
      #expect(size == S3PartPlanner.maxPartSize)
    }
  }
}
