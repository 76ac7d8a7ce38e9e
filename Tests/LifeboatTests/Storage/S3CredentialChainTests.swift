import Foundation
import LifeboatSigV4
import Testing

@testable import Lifeboat

/// A temporary home directory with `.aws/credentials` and `.aws/config`.
private final class AWSHome {
  let path: String

  init(credentials: String? = nil, config: String? = nil) throws {
    path = NSTemporaryDirectory() + "lifeboat-aws-home-" + UUID().uuidString
    try FileManager.default.createDirectory(
      atPath: path + "/.aws", withIntermediateDirectories: true)
    if let credentials {
      try credentials.write(toFile: path + "/.aws/credentials", atomically: true, encoding: .utf8)
    }
    if let config {
      try config.write(toFile: path + "/.aws/config", atomically: true, encoding: .utf8)
    }
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }
}

extension StorageTests {
  struct S3CredentialChainTests {
    private static let credentialsFile = """
      # test profiles
      [default]
      aws_access_key_id = AKIDDEFAULT
      aws_secret_access_key = secret-default

      [work]
      aws_access_key_id=AKIDWORK
      aws_secret_access_key=secret-work ; inline comment
      aws_session_token = token-work
      """

    private static let configFile = """
      [default]
      region = eu-west-1

      [profile work]
      region = eu-central-1
      endpoint_url = https://minio.example.net:9000
      s3 =
        addressing_style = path

      [profile svc]
      aws_access_key_id = AKIDSVC
      aws_secret_access_key = secret-svc
      services = local-s3

      [services local-s3]
      s3 =
        endpoint_url = http://127.0.0.1:9000
      """

    @Test func explicitCredentialsWin() throws {
      let home = try AWSHome(credentials: Self.credentialsFile)
      let explicit = AWSCredentials(accessKeyId: "AKIDEXPLICIT", secretAccessKey: "s")
      let chain = S3CredentialChain(
        environment: ["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "e"],
        homeDirectory: home.path)
      let settings = try chain.resolve(credentials: explicit)
      #expect(settings.credentials.accessKeyId == "AKIDEXPLICIT")
      #expect(settings.credentialSource == "configuration")
    }

    @Test func environmentBeforeProfile() throws {
      let home = try AWSHome(credentials: Self.credentialsFile)
      let chain = S3CredentialChain(
        environment: [
          "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "secret-env",
          "AWS_SESSION_TOKEN": "token-env",
        ], homeDirectory: home.path)
      let settings = try chain.resolve()
      #expect(settings.credentials.accessKeyId == "AKIDENV")
      #expect(settings.credentials.secretAccessKey == "secret-env")
      #expect(settings.credentials.sessionToken == "token-env")
      #expect(settings.credentialSource == "environment")
    }

    @Test func halfEnvironmentPairRejected() throws {
      let home = try AWSHome()
      let chain = S3CredentialChain(
        environment: ["AWS_ACCESS_KEY_ID": "AKIDENV"], homeDirectory: home.path)
      let error = #expect(throws: LifeboatError.self) { try chain.resolve() }
      #expect(error?.code == .configuration)
      #expect(error?.message.contains("AWS_SECRET_ACCESS_KEY is missing") == true)
    }

    @Test func defaultProfileFromFiles() throws {
      let home = try AWSHome(credentials: Self.credentialsFile, config: Self.configFile)
      let settings = try S3CredentialChain(environment: [:], homeDirectory: home.path).resolve()
      #expect(settings.credentials.accessKeyId == "AKIDDEFAULT")
      #expect(settings.credentials.secretAccessKey == "secret-default")
      #expect(settings.credentials.sessionToken == nil)
      #expect(settings.region == "eu-west-1")
      #expect(settings.endpoint == nil)
      #expect(settings.credentialSource.contains("profile default"))
    }

    @Test func namedProfileFromEnvironment() throws {
      let home = try AWSHome(credentials: Self.credentialsFile, config: Self.configFile)
      let chain = S3CredentialChain(environment: ["AWS_PROFILE": "work"], homeDirectory: home.path)
      let settings = try chain.resolve()
      #expect(settings.credentials.accessKeyId == "AKIDWORK")
      #expect(settings.credentials.secretAccessKey == "secret-work")
      #expect(settings.credentials.sessionToken == "token-work")
      #expect(settings.region == "eu-central-1")
      #expect(settings.endpoint == "https://minio.example.net:9000")
      #expect(settings.addressingStyle == .path)
    }

    @Test func credentialsInConfigFile() throws {
      let home = try AWSHome(config: Self.configFile)
      let settings = try S3CredentialChain(environment: [:], homeDirectory: home.path)
        .resolve(profile: "svc")
      #expect(settings.credentials.accessKeyId == "AKIDSVC")
      #expect(settings.endpoint == "http://127.0.0.1:9000")
    }

    @Test func environmentOverridesProfileSettings() throws {
      let home = try AWSHome(credentials: Self.credentialsFile, config: Self.configFile)
      let chain = S3CredentialChain(
        environment: [
          "AWS_PROFILE": "work", "AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "us-west-2",
          "AWS_ENDPOINT_URL": "http://127.0.0.1:5055", "AWS_CA_BUNDLE": "/etc/ca.pem",
        ], homeDirectory: home.path)
      let settings = try chain.resolve()
      #expect(settings.region == "ap-south-1")
      #expect(settings.endpoint == "http://127.0.0.1:5055")
      #expect(settings.caBundlePath == "/etc/ca.pem")
    }

    @Test func defaultRegionVariable() throws {
      let home = try AWSHome(credentials: Self.credentialsFile, config: Self.configFile)
      let chain = S3CredentialChain(
        environment: ["AWS_DEFAULT_REGION": "us-west-2"], homeDirectory: home.path)
      #expect(try chain.resolve().region == "us-west-2")
    }

    @Test func fileLocationsFromEnvironment() throws {
      let home = try AWSHome()
      let other = try AWSHome(credentials: Self.credentialsFile, config: Self.configFile)
      let chain = S3CredentialChain(
        environment: [
          "AWS_SHARED_CREDENTIALS_FILE": other.path + "/.aws/credentials",
          "AWS_CONFIG_FILE": other.path + "/.aws/config", "AWS_PROFILE": "work",
        ], homeDirectory: home.path)
      let settings = try chain.resolve()
      #expect(settings.credentials.accessKeyId == "AKIDWORK")
      #expect(settings.region == "eu-central-1")
    }

    @Test func missingNamedProfile() throws {
      let home = try AWSHome(credentials: Self.credentialsFile)
      let chain = S3CredentialChain(environment: ["AWS_PROFILE": "nope"], homeDirectory: home.path)
      let error = #expect(throws: LifeboatError.self) { try chain.resolve() }
      #expect(error?.message.contains("AWS profile nope not found") == true)
    }

    @Test func noCredentialsAnywhere() throws {
      let home = try AWSHome()
      let error = #expect(throws: LifeboatError.self) {
        try S3CredentialChain(environment: [:], homeDirectory: home.path).resolve()
      }
      #expect(error?.code == .configuration)
      #expect(error?.message == "no AWS credentials found")
    }

    @Test func configurationFromURL() throws {
      let home = try AWSHome()
      let configuration = try S3Configuration.resolve(
        url: "s3://my-bucket/backups/db",
        environment: [
          "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret",
          "AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_REGION": "eu-west-3",
        ], homeDirectory: home.path)
      #expect(configuration.bucket == "my-bucket")
      #expect(configuration.prefix == "backups/db/")
      #expect(configuration.endpoint == "http://127.0.0.1:9000")
      #expect(configuration.region == "eu-west-3")
      #expect(configuration.addressingStyle == .path)
    }

    @Test func awsEndpointUsesVirtualHosts() throws {
      let home = try AWSHome()
      let configuration = try S3Configuration.resolve(
        url: "s3://my-bucket",
        environment: [
          "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret",
          "AWS_REGION": "eu-west-3",
        ], homeDirectory: home.path)
      #expect(configuration.prefix == "")
      #expect(configuration.endpoint == "https://s3.eu-west-3.amazonaws.com")
      #expect(configuration.addressingStyle == .virtualHosted)
    }

    @Test func invalidURLs() {
      for url in ["my-bucket/x", "s3://", "s3:///prefix", "https://bucket/x"] {
        #expect(throws: LifeboatError.self, "\(url)") { try S3Configuration.parseURL(url) }
      }
    }

    @Test func credentialsNeverPrinted() throws {
      let credentials = AWSCredentials(
        accessKeyId: "AKIDPRINT", secretAccessKey: "very-secret", sessionToken: "session-secret")
      let configuration = S3Configuration(bucket: "b", credentials: credentials)
      let printed = "\(configuration) \(String(reflecting: configuration))"
      #expect(!printed.contains("very-secret"))
      #expect(!printed.contains("session-secret"))
    }
  }
}
