/// The part sizes of one multipart upload whose final size is a hint or unknown.
///
/// It starts with `S3PartPlanner`'s plan for the expected size, or for an assumed size when
/// none is given. When the object outgrows the plan, the plan doubles and the remaining parts
/// grow so that they still fit in the parts left. The plan grows when the expected size is
/// exceeded, and without a hint already when half the assumed size is written: with the
/// default 8 MiB parts and 64 GiB assumption, objects up to 4 TiB fit in 10,000 parts.
public struct S3PartSchedule: Sendable {
  /// The size of the next part.
  public private(set) var partSize: Int64
  /// The object size the part size is planned for.
  public private(set) var plannedSize: Int64
  /// Parts numbered so far.
  public private(set) var partCount = 0
  /// Bytes in the parts numbered so far.
  public private(set) var bytesInParts: Int64 = 0
  private let configuredPartSize: Int64
  private let isSizeKnown: Bool

  /// Plans for `expectedSize`, or for `assumedSize` when it is nil.
  /// - Throws: `S3PartPlanner.TooLargeError` when `expectedSize` exceeds 5 TiB.
  public init(expectedSize: Int64?, assumedSize: Int64, configuredPartSize: Int64) throws {
    isSizeKnown = expectedSize != nil
    plannedSize = min(max(expectedSize ?? assumedSize, 0), S3PartPlanner.maxObjectSize)
    if let expectedSize, expectedSize > S3PartPlanner.maxObjectSize {
      throw S3PartPlanner.TooLargeError(size: expectedSize)
    }
    self.configuredPartSize = configuredPartSize
    partSize = try S3PartPlanner.plan(
      objectSize: plannedSize, configuredPartSize: configuredPartSize
    ).partSize
  }

  /// Numbers a part of `size` bytes, sets the size of the next one, and returns the part
  /// number (from 1).
  /// - Throws: `TooManyPartsError` for a part beyond the 10,000th.
  public mutating func addPart(size: Int64) throws -> Int {
    guard partCount < S3PartPlanner.maxPartCount else {
      throw TooManyPartsError(bytes: bytesInParts + size)
    }
    partCount += 1
    bytesInParts += size
    while bytesInParts > growthPoint && plannedSize < S3PartPlanner.maxObjectSize {
      plannedSize = min(plannedSize * 2, S3PartPlanner.maxObjectSize)
    }
    let next = S3PartPlanner.partSize(
      remainingBytes: plannedSize - bytesInParts,
      remainingParts: S3PartPlanner.maxPartCount - partCount,
      configuredPartSize: configuredPartSize)
    partSize = max(partSize, next)
    return partCount
  }

  /// The written size beyond which the plan doubles.
  private var growthPoint: Int64 { isSizeKnown ? plannedSize : plannedSize / 2 }

  /// The error of an upload that needs more than 10,000 parts.
  public struct TooManyPartsError: Error, CustomStringConvertible {
    public var bytes: Int64
    public var description: String {
      "S3 upload exceeds 10,000 parts at \(bytes) bytes; pass a larger expected size"
    }
  }
}
