import Foundation
import LifeboatSigV4

/// Settings of an `S3ObjectStore`: where objects go, how to authenticate, and the limits of
/// transfers, retries and uploads.
///
/// `resolve(url:environment:)` fills credentials, region and endpoint from the environment and
/// the AWS shared files. The defaults suit AWS S3 and S3-compatible servers.
public struct S3Configuration: Sendable {
  /// The place of the bucket name in request URLs.
  public enum AddressingStyle: String, Sendable {
    /// `https://endpoint/bucket/key`: works with every server and any bucket name.
    case path
    /// `https://bucket.endpoint/key`: AWS's default, which needs a DNS-compatible bucket name.
    case virtualHosted
  }

  /// Server-side encryption requested for new objects.
  public enum ServerSideEncryption: Equatable, Sendable {
    /// `AES256`: keys managed by S3 (SSE-S3).
    case aes256
    /// `aws:kms`: keys in AWS KMS (SSE-KMS). A nil key id uses the account's default key.
    case kms(keyId: String?)
  }

  public var bucket: String
  /// The key prefix, prepended to every key exactly as given. Usually empty or ending with `/`.
  public var prefix: String
  /// The service URL, such as `https://s3.eu-west-1.amazonaws.com` or `http://127.0.0.1:9000`.
  public var endpoint: String
  public var region: String
  public var addressingStyle: AddressingStyle
  public var credentials: AWSCredentials
  /// A PEM file of trusted CA certificates. Nil uses the system's.
  public var caBundlePath: String?

  /// Seconds allowed for a TCP and TLS connection to be set up.
  public var connectTimeout: TimeInterval = 10
  /// A transfer slower than `lowSpeedLimit` bytes/s for `lowSpeedTime` seconds is aborted
  /// and retried.
  public var lowSpeedLimit: Int = 1024
  public var lowSpeedTime: TimeInterval = 60

  /// Bytes per multipart part, unless a larger object needs larger parts. Rounded up to whole
  /// MiB, and at least 5 MiB.
  public var partSize: Int64 = 8 << 20
  /// Parts uploaded at once. A writer keeps up to `partsInFlight + 1` parts in memory.
  public var partsInFlight: Int = 2
  /// The object size from which uploads use parts. Smaller objects go in one PUT, so this is
  /// at most 5 GiB, the limit of a single PUT.
  public var multipartThreshold: Int64 = 8 << 20
  /// The object size a writer plans its part size for when the caller gives no expected size.
  /// The plan doubles each time half of it is written, and the remaining parts grow to match.
  /// With the defaults, objects up to 4 TiB fit in 10,000 parts (see `S3PartSchedule`).
  public var assumedObjectSize: Int64 = 64 << 30
  /// Keys per ListObjectsV2 page (1 to 1000).
  public var listPageSize: Int = 1000

  /// Attempts per request, the first one included.
  public var maxAttempts: Int = 5
  public var retryBaseDelay: TimeInterval = 0.25
  public var retryMaxDelay: TimeInterval = 20

  /// Consecutive failed requests that open the circuit breaker.
  public var breakerThreshold: Int = 5
  /// Seconds the open breaker rejects requests before letting one probe through.
  public var breakerCoolDown: TimeInterval = 30

  public var serverSideEncryption: ServerSideEncryption?
  /// `x-amz-storage-class` of new objects (`STANDARD_IA`, `GLACIER_IR`). Nil is `STANDARD`.
  public var storageClass: String?

  /// Creates a configuration with default limits.
  ///
  /// - Parameters:
  ///   - endpoint: nil uses AWS's regional endpoint, `https://s3.<region>.amazonaws.com`.
  ///   - addressingStyle: nil picks virtual-hosted for AWS endpoints when the bucket name
  ///     allows it, and path style for every other endpoint.
  public init(
    bucket: String, prefix: String = "", region: String = "us-east-1", endpoint: String? = nil,
    addressingStyle: AddressingStyle? = nil, credentials: AWSCredentials,
    caBundlePath: String? = nil
  ) {
    self.bucket = bucket
    self.prefix = prefix
    self.region = region
    let resolvedEndpoint = endpoint ?? "https://s3.\(region).amazonaws.com"
    self.endpoint = resolvedEndpoint
    self.addressingStyle =
      addressingStyle
      ?? (Self.isAWSEndpoint(resolvedEndpoint) && Self.isVirtualHostCompatible(bucket)
        ? .virtualHosted : .path)
    self.credentials = credentials
    self.caBundlePath = caBundlePath
  }

  /// Returns a configuration for `s3://bucket/prefix`, with credentials, region, endpoint and
  /// CA bundle from `S3CredentialChain` unless given here.
  ///
  /// The URL's path becomes the key prefix with a trailing `/`: `s3://b/backups` stores `x`
  /// under `backups/x`.
  public static func resolve(
    url: String, environment: [String: String], profile: String? = nil,
    credentials: AWSCredentials? = nil, region: String? = nil, endpoint: String? = nil,
    homeDirectory: String? = nil
  ) throws -> S3Configuration {
    let (bucket, prefix) = try parseURL(url)
    let chain = S3CredentialChain(environment: environment, homeDirectory: homeDirectory)
    let settings = try chain.resolve(
      profile: profile, credentials: credentials, region: region, endpoint: endpoint)
    let configuration = S3Configuration(
      bucket: bucket, prefix: prefix, region: settings.region ?? "us-east-1",
      endpoint: settings.endpoint, addressingStyle: settings.addressingStyle,
      credentials: settings.credentials, caBundlePath: settings.caBundlePath)
    try configuration.validate()
    return configuration
  }

  /// Splits `s3://bucket/some/prefix` into the bucket and a prefix ending with `/`.
  public static func parseURL(_ url: String) throws -> (bucket: String, prefix: String) {
    guard url.hasPrefix("s3://") else {
      throw LifeboatError(
        .configuration, "invalid S3 URL \(url): expected s3://bucket/prefix")
    }
    let rest = url.dropFirst("s3://".count)
    let bucket = String(rest.prefix { $0 != "/" })
    guard !bucket.isEmpty else {
      throw LifeboatError(.configuration, "invalid S3 URL \(url): the bucket name is missing")
    }
    var prefix = String(rest.dropFirst(bucket.count).drop { $0 == "/" })
    if !prefix.isEmpty && !prefix.hasSuffix("/") { prefix += "/" }
    return (bucket, prefix)
  }

  /// Throws `LifeboatError(.configuration)` naming the first invalid setting.
  public func validate() throws {
    func invalid(_ message: String, hint: String? = nil) -> LifeboatError {
      LifeboatError(.configuration, message, hint: hint)
    }
    if bucket.isEmpty || bucket.contains("/") || bucket.contains(where: { $0.isWhitespace }) {
      throw invalid("invalid S3 bucket name '\(bucket)'")
    }
    if addressingStyle == .virtualHosted && !Self.isVirtualHostCompatible(bucket) {
      throw invalid(
        "S3 bucket name '\(bucket)' cannot be used in a virtual-hosted URL",
        hint: "use path-style addressing")
    }
    _ = try S3Endpoint(configuration: self)
    if region.isEmpty { throw invalid("the S3 region is empty", hint: "set AWS_REGION") }
    if credentials.accessKeyId.isEmpty || credentials.secretAccessKey.isEmpty {
      throw invalid("the S3 access key id or secret access key is empty")
    }
    if prefix.utf8.count >= 1024 {
      throw invalid("the S3 key prefix is \(prefix.utf8.count) bytes; keys are at most 1024")
    }
    if partSize > S3PartPlanner.maxPartSize {
      throw invalid("S3 part size \(partSize) exceeds the maximum of 5 GiB")
    }
    if partsInFlight < 1 { throw invalid("S3 parts in flight must be at least 1") }
    if multipartThreshold < 0 || multipartThreshold > S3PartPlanner.maxSinglePutSize {
      throw invalid("S3 multipart threshold \(multipartThreshold) must be 0 to 5 GiB")
    }
    if !(1...1000).contains(listPageSize) {
      throw invalid("S3 list page size \(listPageSize) must be 1 to 1000")
    }
    if maxAttempts < 1 { throw invalid("S3 max attempts must be at least 1") }
    if breakerThreshold < 1 { throw invalid("S3 circuit breaker threshold must be at least 1") }
    if case .kms(let keyId?) = serverSideEncryption, keyId.isEmpty {
      throw invalid("the SSE-KMS key id is empty", hint: "omit it to use the default key")
    }
  }

  static func isAWSEndpoint(_ endpoint: String) -> Bool {
    guard let host = URLComponents(string: endpoint)?.host?.lowercased() else { return false }
    return host.hasSuffix(".amazonaws.com") || host.hasSuffix(".amazonaws.com.cn")
  }

  /// Returns whether `bucket` can be a DNS label: lower-case letters, digits and hyphens.
  /// Dots are excluded because they break TLS wildcard certificates.
  static func isVirtualHostCompatible(_ bucket: String) -> Bool {
    guard (3...63).contains(bucket.count), !bucket.hasPrefix("-"), !bucket.hasSuffix("-")
    else { return false }
    return bucket.unicodeScalars.allSatisfy {
      ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-"
    }
  }
}
