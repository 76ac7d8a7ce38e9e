/// A failure to write or read an age file. Every case reads as an operator message, and none
/// carries libcrypto's error text or key material.
public enum AgeError: Error, CustomStringConvertible, Equatable {
  case invalidRecipient(String, reason: String)
  case invalidIdentity(String)
  case noRecipients
  case scryptNotAlone
  case notAgeFile
  case armored
  case unsupportedVersion(String)
  case invalidHeader(String)
  case headerTooLarge(limit: Int)
  case truncatedHeader
  case headerMACMismatch
  /// No configured identity unwraps the file key. `stanzaTypes` counts the header's stanzas by
  /// type and `tried` names the identities (public recipients, or "a passphrase").
  case noMatchingIdentity(stanzaTypes: [String], tried: [String])
  case passphraseRequired
  case workFactorTooHigh(Int, maximum: Int)
  case truncatedPayload(chunks: Int)
  case missingFinalChunk(chunks: Int)
  case chunkAuthenticationFailed(chunk: Int)
  case trailingData(afterChunk: Int)
  case emptyFinalChunk(chunk: Int)

  public var description: String {
    switch self {
    case .invalidRecipient(let text, let reason):
      return "invalid age recipient '\(text)': \(reason)"
    case .invalidIdentity(let reason):
      return "invalid age identity: \(reason)"
    case .noRecipients:
      return "no age recipient or passphrase to encrypt to"
    case .scryptNotAlone:
      return "a passphrase (scrypt) cannot be combined with other recipients in one age file"
    case .notAgeFile:
      return "not an age file: the first line is not 'age-encryption.org/v1'"
    case .armored:
      return "the file is ASCII-armored age (-----BEGIN AGE ENCRYPTED FILE-----), which is not supported here; remove the armor with 'age -d' instead"
    case .unsupportedVersion(let version):
      return "unsupported age format version '\(version)'; only age-encryption.org/v1 is supported"
    case .invalidHeader(let reason):
      return "invalid age header: \(reason)"
    case .headerTooLarge(let limit):
      return "age header is longer than \(limit) bytes"
    case .truncatedHeader:
      return "age file is truncated inside its header"
    case .headerMACMismatch:
      return "age header MAC does not match: the header was damaged or tampered with"
    case .noMatchingIdentity(let stanzaTypes, _) where stanzaTypes == ["scrypt"]:
      return "the passphrase does not open the age file: wrong passphrase"
    case .noMatchingIdentity(let stanzaTypes, let tried):
      let stanzas = Dictionary(grouping: stanzaTypes, by: { $0 }).map { "\($0.value.count) \($0.key)" }
        .sorted().joined(separator: ", ")
      let identities = tried.isEmpty ? "no identity was given" : "tried \(tried.joined(separator: ", "))"
      return "no identity matches the age file (its recipient stanzas: \(stanzas); \(identities))"
    case .passphraseRequired:
      return "the age file is encrypted with a passphrase (scrypt), and no passphrase was given"
    case .workFactorTooHigh(let logN, let maximum):
      return "age scrypt work factor 2^\(logN) is above the maximum 2^\(maximum) this reader accepts"
    case .truncatedPayload(let chunks):
      return "age file is truncated: it ends inside the payload after \(chunks) complete chunk(s)"
    case .missingFinalChunk(let chunks):
      return "age file is truncated at a chunk boundary: chunk \(chunks - 1) is not marked final and nothing follows it"
    case .chunkAuthenticationFailed(let chunk):
      return "age payload chunk \(chunk) failed authentication: the data was damaged, cut short or tampered with"
    case .trailingData(let chunk):
      return "age file has data after its final chunk \(chunk)"
    case .emptyFinalChunk(let chunk):
      return "age payload ends with an empty chunk \(chunk), which the format forbids"
    }
  }
}
