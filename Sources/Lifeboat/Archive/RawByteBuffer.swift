/// A growable byte buffer that is not zero-filled, for data handed to zlib by pointer.
///
/// Unlike `[UInt8]`, its storage moves only in `reserveCapacity(_:)` and `append(_:)`, so a
/// pointer into it stays valid across calls that do neither.
final class RawByteBuffer {
  private(set) var baseAddress: UnsafeMutableRawPointer
  private(set) var capacity: Int
  /// The number of initialized bytes, from `baseAddress`.
  var count = 0

  init(capacity: Int) {
    self.capacity = max(capacity, 1)
    baseAddress = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 16)
  }

  deinit { baseAddress.deallocate() }

  var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: baseAddress, count: count) }

  /// Grows the storage to at least `minimumCapacity` bytes, keeping the first `count` bytes.
  func reserveCapacity(_ minimumCapacity: Int) {
    guard minimumCapacity > capacity else { return }
    let newCapacity = max(minimumCapacity, capacity * 2)
    let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
    newBase.copyMemory(from: baseAddress, byteCount: count)
    baseAddress.deallocate()
    baseAddress = newBase
    capacity = newCapacity
  }

  func append(_ bytes: UnsafeRawBufferPointer) {
    guard let source = bytes.baseAddress, bytes.count > 0 else { return }
    reserveCapacity(count + bytes.count)
    (baseAddress + count).copyMemory(from: source, byteCount: bytes.count)
    count += bytes.count
  }
}
