import Foundation

/// A span of a block, in offsets of the block's buffer, that is either deflated or copied into
/// stored deflate blocks.
struct DeflateRun: Equatable {
  var range: Range<Int>
  var isStored: Bool
}

/// Splits a block into spans that deflate can shrink and spans it cannot, such as gzip logs,
/// JPEGs or encrypted blobs, so the second kind can be stored without a full deflate pass.
///
/// Deflate at level 6 runs at about 55 MB/s on random bytes (zlib 1.2.13 through `pigz -p 1`,
/// one core of a 2-core x86-64 machine), while this check runs several times faster and
/// storing is a copy. A span is stored only when both tests below find no redundancy, which
/// bounds what deflate could have saved on it to about 3%: up to 1.25% from the byte
/// histogram and under 1.5% from repeats. On random data it saves nothing.
struct CompressibilityEstimator {
  /// The span length that is tested on its own.
  static let chunkSize = 16 * 1024
  /// The deflate window: matches reach back at most this far.
  static let windowSize = 32 * 1024
  /// Entropy of the byte histogram, in bits per byte, above which Huffman coding gains less
  /// than about 1%. Random 16 KiB chunks measure about 7.99 because of the sample's bias.
  static let entropyThreshold = 7.9

  private static let tableBits = 13
  /// The latest position + 1 of each hashed 4-byte word; 0 marks an empty slot.
  private var table = [Int32](repeating: 0, count: 1 << tableBits)
  /// The end of the span whose words `table` indexes, when the previous chunk was scanned to
  /// its end, so that the next chunk need not index its window again.
  private var indexedEnd: Int?

  /// Returns the runs that cover `buffer[blockStart...]`, in order, with adjacent chunks of the
  /// same kind merged. The bytes before `blockStart` are history that matches may refer to.
  mutating func runs(in buffer: UnsafeRawBufferPointer, blockStart: Int) -> [DeflateRun] {
    var runs: [DeflateRun] = []
    var start = blockStart
    indexedEnd = nil
    while start < buffer.count {
      let end = min(start + Self.chunkSize, buffer.count)
      let isStored = isIncompressible(buffer, start..<end)
      if let last = runs.last, last.isStored == isStored {
        runs[runs.count - 1].range = last.range.lowerBound..<end
      } else {
        runs.append(DeflateRun(range: start..<end, isStored: isStored))
      }
      start = end
    }
    return runs
  }

  private mutating func isIncompressible(_ buffer: UnsafeRawBufferPointer, _ range: Range<Int>)
    -> Bool
  {
    let chunk = UnsafeRawBufferPointer(rebasing: buffer[range])
    guard Self.entropy(of: chunk) >= Self.entropyThreshold else { return false }
    return !containsRepeats(buffer, range)
  }

  /// Returns the Shannon entropy of the byte histogram of `bytes`, in bits per byte.
  static func entropy(of bytes: UnsafeRawBufferPointer) -> Double {
    guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count > 0
    else { return 0 }
    // Four interleaved histograms, so that runs of equal bytes do not serialise the increments.
    return withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 4 * 256) { counts in
      counts.initialize(repeating: 0)
      let c = counts.baseAddress!
      let count = bytes.count
      var i = 0
      while i + 4 <= count {
        c[Int(base[i])] &+= 1
        c[256 + Int(base[i + 1])] &+= 1
        c[512 + Int(base[i + 2])] &+= 1
        c[768 + Int(base[i + 3])] &+= 1
        i += 4
      }
      while i < count {
        c[Int(base[i])] &+= 1
        i += 1
      }
      var sum = 0.0
      for byte in 0..<256 {
        let n = Double(c[byte] + c[256 + byte] + c[512 + byte] + c[768 + byte])
        if n > 0 { sum += n * log2(n) }
      }
      let total = Double(count)
      return log2(total) - sum / total
    }
  }

  /// Reports whether at least about 1.5% of `buffer[range]` repeats earlier bytes of the chunk or
  /// of the window before it. Byte histograms miss such repeats: a sequence 0, 1, …, 255 that
  /// repeats has a flat histogram, yet deflate shrinks it to almost nothing.
  ///
  /// Words at every 4th position are indexed and every position is looked up, so each repeat of
  /// 8 bytes or more is found whatever its distance modulo 4, and about one hit is counted per
  /// 4 repeated bytes. Random data hits only when two 32-bit words are equal by chance.
  private mutating func containsRepeats(_ buffer: UnsafeRawBufferPointer, _ range: Range<Int>)
    -> Bool
  {
    guard let base = buffer.baseAddress, range.count >= 8 else { return false }
    let requiredHits = max(8, range.count / 256)
    let windowStart = max(0, range.lowerBound - Self.windowSize)
    let lastWordStart = buffer.count - 4

    let isWindowIndexed = indexedEnd == range.lowerBound
    indexedEnd = nil

    let found = table.withUnsafeMutableBufferPointer { table -> Bool in
      let shift = UInt32(32 - Self.tableBits)
      if !isWindowIndexed {
        table.initialize(repeating: 0)
        var position = (windowStart + 3) & ~3
        while position < range.lowerBound && position <= lastWordStart {
          let word = base.loadUnaligned(fromByteOffset: position, as: UInt32.self)
          table[Int((word &* 2_654_435_761) >> shift)] = Int32(position + 1)
          position += 4
        }
      }

      var hits = 0
      var position = range.lowerBound
      let end = min(range.upperBound, lastWordStart + 1)
      while position < end {
        let word = base.loadUnaligned(fromByteOffset: position, as: UInt32.self)
        let slot = Int((word &* 2_654_435_761) >> shift)
        // Entries older than the window, left from earlier chunks, fail the distance test.
        let candidate = Int(table[slot]) - 1
        if candidate >= 0 && position - candidate <= Self.windowSize
          && base.loadUnaligned(fromByteOffset: candidate, as: UInt32.self) == word
        {
          hits += 1
          if hits >= requiredHits { return true }
        }
        if position & 3 == 0 { table[slot] = Int32(position + 1) }
        position += 1
      }
      return false
    }
    if !found { indexedEnd = range.upperBound }
    return found
  }
}
