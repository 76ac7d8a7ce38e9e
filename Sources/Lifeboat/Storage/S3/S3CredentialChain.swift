import Foundation
import LifeboatSigV4

/// Credentials and connection settings found by `S3CredentialChain`.
public struct S3ResolvedSettings: Sendable {
  public var credentials: AWSCredentials
  /// The origin of the credentials (`environment`, `profile default in ~/.aws/credentials`),
  /// for messages. It never contains a secret.
  public var credentialSource: String
  public var region: String?
  public var endpoint: String?
  public var addressingStyle: S3Configuration.AddressingStyle?
  public var caBundlePath: String?
}

/// Finds AWS credentials and settings the way the AWS CLI does, for the subset lifeboat uses.
///
/// Credentials come from the first source that has them:
/// 1. the explicit value;
/// 2. `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`;
/// 3. the profile (`AWS_PROFILE`, else `default`) in the credentials file
///    (`AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`);
/// 4. the same profile in the config file (`AWS_CONFIG_FILE`, else `~/.aws/config`).
///
/// The region comes from the explicit value, `AWS_REGION`, `AWS_DEFAULT_REGION`, then the
/// profile's `region`. The endpoint comes from the explicit value, `AWS_ENDPOINT_URL_S3`,
/// `AWS_ENDPOINT_URL`, then the profile's `s3.endpoint_url`, the `[services]` section it
/// names, or its `endpoint_url`. The CA bundle comes from `AWS_CA_BUNDLE`, then the profile's
/// `ca_bundle`. The profile's `s3.addressing_style` (`path` or `virtual`) sets the style.
///
/// NOTE: credential processes, SSO, web identity and instance metadata are not supported.
public struct S3CredentialChain {
  public var environment: [String: String]
  public var homeDirectory: String

  /// Creates a chain over `environment`. `homeDirectory` defaults to its `HOME`.
  public init(environment: [String: String], homeDirectory: String? = nil) {
    self.environment = environment
    self.homeDirectory =
      homeDirectory ?? environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path
  }

  /// Returns the credentials and settings, preferring the explicit values given here.
  ///
  /// Throws `LifeboatError(.configuration)` when no credentials are found, when only half of
  /// a key pair is set, or when a named profile does not exist.
  public func resolve(
    profile explicitProfile: String? = nil, credentials explicitCredentials: AWSCredentials? = nil,
    region explicitRegion: String? = nil, endpoint explicitEndpoint: String? = nil
  ) throws -> S3ResolvedSettings {
    let profileName = explicitProfile ?? value("AWS_PROFILE") ?? "default"
    let profileIsNamed = explicitProfile != nil || value("AWS_PROFILE") != nil
    let credentialsPath = expandHome(
      value("AWS_SHARED_CREDENTIALS_FILE") ?? "~/.aws/credentials")
    let configPath = expandHome(value("AWS_CONFIG_FILE") ?? "~/.aws/config")
    let credentialsFile = try AWSSharedConfigFile.load(path: credentialsPath)
    let configFile = try AWSSharedConfigFile.load(path: configPath)
    let credentialsSection = credentialsFile?.credentialsProfile(profileName)
    let configSection = configFile?.configProfile(profileName)

    let found: (AWSCredentials, String)
    if let explicitCredentials {
      found = (explicitCredentials, "configuration")
    } else if let fromEnvironment = try environmentCredentials() {
      found = (fromEnvironment, "environment")
    } else if let section = credentialsSection,
      let fromFile = try profileCredentials(section, profile: profileName, path: credentialsPath)
    {
      found = (fromFile, "profile \(profileName) in \(credentialsPath)")
    } else if let section = configSection,
      let fromFile = try profileCredentials(section, profile: profileName, path: configPath)
    {
      found = (fromFile, "profile \(profileName) in \(configPath)")
    } else if profileIsNamed && credentialsSection == nil && configSection == nil {
      throw LifeboatError(
        .configuration,
        "AWS profile \(profileName) not found in \(credentialsPath) or \(configPath)",
        hint: "check AWS_PROFILE or add the profile")
    } else {
      throw LifeboatError(
        .configuration, "no AWS credentials found",
        hint: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or add profile \(profileName) "
          + "to \(credentialsPath)")
    }

    let region =
      explicitRegion ?? value("AWS_REGION") ?? value("AWS_DEFAULT_REGION")
      ?? nonEmpty(configSection?["region"])
    let servicesEndpoint = nonEmpty(configSection?["services"]).flatMap {
      configFile?.servicesSection($0)?["s3.endpoint_url"]
    }
    let endpoint =
      explicitEndpoint ?? value("AWS_ENDPOINT_URL_S3") ?? value("AWS_ENDPOINT_URL")
      ?? nonEmpty(configSection?["s3.endpoint_url"]) ?? nonEmpty(servicesEndpoint)
      ?? nonEmpty(configSection?["endpoint_url"])
    let style: S3Configuration.AddressingStyle?
    switch configSection?["s3.addressing_style"]?.lowercased() {
    case "path": style = .path
    case "virtual": style = .virtualHosted
    default: style = nil
    }
    let caBundle =
      value("AWS_CA_BUNDLE") ?? nonEmpty(configSection?["ca_bundle"]).map(expandHome)

    return S3ResolvedSettings(
      credentials: found.0, credentialSource: found.1, region: region, endpoint: endpoint,
      addressingStyle: style, caBundlePath: caBundle)
  }

  private func environmentCredentials() throws -> AWSCredentials? {
    let accessKeyId = value("AWS_ACCESS_KEY_ID")
    let secret = value("AWS_SECRET_ACCESS_KEY")
    switch (accessKeyId, secret) {
    case (nil, nil):
      return nil
    case (let accessKeyId?, let secret?):
      return AWSCredentials(
        accessKeyId: accessKeyId, secretAccessKey: secret,
        sessionToken: value("AWS_SESSION_TOKEN"))
    case (nil, _):
      throw LifeboatError(
        .configuration, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is missing")
    case (_, nil):
      throw LifeboatError(
        .configuration, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is missing")
    }
  }

  private func profileCredentials(
    _ section: [String: String], profile: String, path: String
  ) throws -> AWSCredentials? {
    let accessKeyId = nonEmpty(section["aws_access_key_id"])
    let secret = nonEmpty(section["aws_secret_access_key"])
    switch (accessKeyId, secret) {
    case (nil, nil):
      return nil
    case (let accessKeyId?, let secret?):
      return AWSCredentials(
        accessKeyId: accessKeyId, secretAccessKey: secret,
        sessionToken: nonEmpty(section["aws_session_token"]))
    default:
      throw LifeboatError(
        .configuration,
        "profile \(profile) in \(path) needs both aws_access_key_id and aws_secret_access_key")
    }
  }

  /// Returns a non-empty environment variable.
  private func value(_ name: String) -> String? {
    nonEmpty(environment[name])
  }

  private func nonEmpty(_ value: String?) -> String? {
    guard let value, !value.isEmpty else { return nil }
    return value
  }

  private func expandHome(_ path: String) -> String {
    if path == "~" { return homeDirectory }
    if path.hasPrefix("~/") { return homeDirectory + path.dropFirst() }
    return path
  }
}
