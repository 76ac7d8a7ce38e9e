/// Receives the checked members of an archive and writes them somewhere.
///
/// `ArchiveChecker` calls `begin` with a validated, normalised path, then `data` with the
/// member's bytes in order, then `end`. `applyMetadata` runs once after the whole archive.
public protocol ArchiveExtractor: AnyObject {
  func begin(_ entry: TarEntry, path: [UInt8]) throws
  func data(_ bytes: UnsafeRawBufferPointer) throws
  func end() throws
  func applyMetadata() throws
}

/// Sends each member to the extractor of its top-level name, so that every source is staged
/// on the file system of its own destination and can be renamed into place there.
///
/// It also stops the extraction when a signal is pending, so that an interrupted restore
/// does not finish writing a large archive before it cleans up.
public final class RoutingExtractor: ArchiveExtractor {
  private let routes: [[UInt8]: ArchiveExtractor]
  private var current: ArchiveExtractor?

  /// - Parameter routes: the extractor for each top-level archive name.
  public init(routes: [String: ArchiveExtractor]) {
    var byName: [[UInt8]: ArchiveExtractor] = [:]
    for (name, extractor) in routes { byName[Array(name.utf8)] = extractor }
    self.routes = byName
  }

  public func begin(_ entry: TarEntry, path: [UInt8]) throws {
    if let signal = Interruption.pending { throw InterruptedError(signal: signal) }
    let top = Array(path.split(separator: UInt8(ascii: "/")).first ?? [])
    guard let extractor = routes[top] else {
      throw ExtractionError.system(
        "no staging directory for archive member '\(FilePath.display(path))'")
    }
    current = extractor
    try extractor.begin(entry, path: path)
  }

  public func data(_ bytes: UnsafeRawBufferPointer) throws {
    if let signal = Interruption.pending { throw InterruptedError(signal: signal) }
    try current?.data(bytes)
  }

  public func end() throws {
    try current?.end()
    current = nil
  }

  public func applyMetadata() throws {
    // Several names may share one extractor; apply each extractor's metadata once.
    var done: [ObjectIdentifier] = []
    for extractor in routes.values where !done.contains(ObjectIdentifier(extractor)) {
      done.append(ObjectIdentifier(extractor))
      try extractor.applyMetadata()
    }
  }
}
