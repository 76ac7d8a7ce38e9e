/// The part size and count of a multipart upload.
public struct S3PartPlan: Equatable, Sendable {
  public var partSize: Int64
  public var partCount: Int

  public init(partSize: Int64, partCount: Int) {
    self.partSize = partSize
    self.partCount = partCount
  }
}

/// Part sizes that keep a multipart upload within S3's limits.
///
/// S3 allows at most 10,000 parts of 5 MiB to 5 GiB each, except that the last part may be
/// smaller, and objects of at most 5 TiB. Part sizes are whole MiB.
public enum S3PartPlanner {
  public static let mebibyte: Int64 = 1 << 20
  public static let minPartSize: Int64 = 5 * mebibyte
  public static let maxPartSize: Int64 = 5 << 30
  public static let maxPartCount = 10_000
  public static let maxObjectSize: Int64 = 5 << 40
  /// The largest object a single PUT may store.
  public static let maxSinglePutSize: Int64 = 5 << 30

  /// The error for an object S3 cannot store.
  public struct TooLargeError: Error, CustomStringConvertible {
    public var size: Int64
    public var description: String {
      "object of \(size) bytes exceeds the S3 maximum object size of 5 TiB (\(maxObjectSize) bytes)"
    }
  }

  /// Returns the plan for an object of `objectSize` bytes, using `configuredPartSize`
  /// unless the 5 MiB minimum or the 10,000-part maximum needs larger parts.
  public static func plan(objectSize: Int64, configuredPartSize: Int64) throws -> S3PartPlan {
    guard objectSize <= maxObjectSize else { throw TooLargeError(size: objectSize) }
    let size = max(objectSize, 0)
    let partSize = self.partSize(
      remainingBytes: size, remainingParts: maxPartCount, configuredPartSize: configuredPartSize)
    let count = size == 0 ? 1 : Int(divideRoundingUp(size, partSize))
    return S3PartPlan(partSize: partSize, partCount: count)
  }

  /// Returns the smallest whole-MiB part size, at least `configuredPartSize` and 5 MiB, that
  /// fits `remainingBytes` into `remainingParts` parts. Capped at 5 GiB.
  public static func partSize(
    remainingBytes: Int64, remainingParts: Int, configuredPartSize: Int64
  ) -> Int64 {
    let parts = Int64(max(remainingParts, 1))
    let needed = divideRoundingUp(max(remainingBytes, 0), parts)
    let size = max(configuredPartSize, minPartSize, needed)
    return min(roundUpToMebibyte(size), maxPartSize)
  }

  static func roundUpToMebibyte(_ value: Int64) -> Int64 {
    divideRoundingUp(value, mebibyte) * mebibyte
  }

  static func divideRoundingUp(_ value: Int64, _ divisor: Int64) -> Int64 {
    (value + divisor - 1) / divisor
  }
}
