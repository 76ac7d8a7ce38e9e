import Foundation

/// Derived SigV4 signing keys, cached per credential scope (date, region, service) because
/// deriving one costs four HMACs and a scope stays the same for a whole day.
///
/// Safe to use from several threads at once. The description never shows a key.
final class SigningKeyCache: @unchecked Sendable, CustomStringConvertible, CustomReflectable {
  private struct Scope: Hashable {
    let date: String
    let region: String
    let service: String
  }

  /// The maximum number of scopes kept. A signer normally needs one date, or two around
  /// midnight. The limit stops presigning with many different dates from growing the cache.
  static let capacity = 8

  private let secretAccessKey: String
  private let lock = NSLock()
  private var keys: [Scope: [UInt8]] = [:]

  init(secretAccessKey: String) {
    self.secretAccessKey = secretAccessKey
  }

  /// Returns the signing key for a scope, deriving and caching it on first use.
  func key(date: String, region: String, service: String) -> [UInt8] {
    let scope = Scope(date: date, region: region, service: service)
    if let key = lock.withLock({ keys[scope] }) {
      return key
    }
    // Derived outside the lock so that threads needing a cached scope never wait for this.
    // Two threads deriving the same new key at once both get the same bytes.
    let key = Self.deriveKey(
      secretAccessKey: secretAccessKey, date: date, region: region, service: service)
    lock.withLock {
      if keys.count >= Self.capacity {
        keys.removeAll(keepingCapacity: true)
      }
      keys[scope] = key
    }
    return key
  }

  /// The number of cached keys.
  var count: Int {
    lock.withLock { keys.count }
  }

  /// Derives `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
  static func deriveKey(
    secretAccessKey: String, date: String, region: String, service: String
  ) -> [UInt8] {
    var key = Array("AWS4\(secretAccessKey)".utf8)
    for part in [date, region, service, "aws4_request"] {
      key = LibCrypto.hmacSHA256(key: key, data: part)
    }
    return key
  }

  var description: String {
    "SigningKeyCache(keys: <redacted>)"
  }

  var customMirror: Mirror {
    Mirror(self, children: ["keys": "<redacted>"])
  }
}
