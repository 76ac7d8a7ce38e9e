import Testing

@testable import Lifeboat

extension StorageTests {
  struct S3PartScheduleTests {
    private static let mib: Int64 = 1 << 20
    private static let gib: Int64 = 1 << 30
    private static let tib: Int64 = 1 << 40

    /// Feeds full parts until `total` bytes and returns the part count and largest part.
    private func upload(_ total: Int64, schedule: inout S3PartSchedule) throws -> (Int, Int64) {
      var written: Int64 = 0
      var largest: Int64 = 0
      while written < total {
        let part = min(schedule.partSize, total - written)
        largest = max(largest, part)
        _ = try schedule.addPart(size: part)
        written += part
      }
      return (schedule.partCount, largest)
    }

    @Test func accurateHintKeepsPlan() throws {
      var schedule = try S3PartSchedule(
        expectedSize: 90 * Self.gib, assumedSize: 64 * Self.gib, configuredPartSize: 8 * Self.mib)
      #expect(schedule.partSize == 10 * Self.mib)
      let (parts, largest) = try upload(90 * Self.gib, schedule: &schedule)
      #expect(parts == 9_216)
      #expect(largest == 10 * Self.mib)
    }

    @Test func unknownSizeStartsFromAssumption() throws {
      let schedule = try S3PartSchedule(
        expectedSize: nil, assumedSize: 64 * Self.gib, configuredPartSize: 5 * Self.mib)
      // 64 GiB in 10,000 parts needs 6.6 MiB parts, rounded up to 7 MiB.
      #expect(schedule.partSize == 7 * Self.mib)
    }

    @Test(arguments: [1 * gib, 64 * gib, 200 * gib, 1 * tib, 4 * tib])
    func unknownSizeFits(_ total: Int64) throws {
      var schedule = try S3PartSchedule(
        expectedSize: nil, assumedSize: 64 * Self.gib, configuredPartSize: 8 * Self.mib)
      let (parts, largest) = try upload(total, schedule: &schedule)
      #expect(parts <= 10_000)
      #expect(largest <= S3PartPlanner.maxPartSize)
    }

    @Test func exceededHintGrowsParts() throws {
      var schedule = try S3PartSchedule(
        expectedSize: 10 * Self.gib, assumedSize: 64 * Self.gib, configuredPartSize: 5 * Self.mib)
      let (parts, largest) = try upload(100 * Self.gib, schedule: &schedule)
      #expect(parts <= 10_000)
      #expect(largest > 5 * Self.mib)
      #expect(largest % Self.mib == 0)
    }

    @Test func partSizesNeverShrink() throws {
      var schedule = try S3PartSchedule(
        expectedSize: nil, assumedSize: Self.gib, configuredPartSize: 5 * Self.mib)
      var previous = schedule.partSize
      for _ in 0..<5_000 {
        _ = try schedule.addPart(size: schedule.partSize)
        #expect(schedule.partSize >= previous)
        previous = schedule.partSize
      }
    }

    @Test func rejectsPartBeyondLimit() throws {
      var schedule = try S3PartSchedule(
        expectedSize: 10_000 * 5 * Self.mib, assumedSize: 0, configuredPartSize: 5 * Self.mib)
      for number in 1...10_000 {
        #expect(try schedule.addPart(size: 5 * Self.mib) == number)
      }
      #expect(throws: S3PartSchedule.TooManyPartsError.self) {
        try schedule.addPart(size: 1)
      }
    }

    @Test func rejectsHintOverFiveTebibytes() {
      #expect(throws: S3PartPlanner.TooLargeError.self) {
        try S3PartSchedule(
          expectedSize: 5 * Self.tib + 1, assumedSize: 0, configuredPartSize: 5 * Self.mib)
      }
    }
  }
}
