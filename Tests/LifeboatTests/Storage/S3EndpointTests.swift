import LifeboatSigV4
import Testing

@testable import Lifeboat

extension StorageTests {
  struct S3EndpointTests {
    private func endpoint(
      _ url: String, bucket: String = "my-bucket",
      style: S3Configuration.AddressingStyle = .path
    ) throws -> S3Endpoint {
      let configuration = S3Configuration(
        bucket: bucket, endpoint: url, addressingStyle: style,
        credentials: AWSCredentials(accessKeyId: "AKID", secretAccessKey: "secret"))
      return try S3Endpoint(configuration: configuration)
    }

    @Test func pathStyleKeepsPort() throws {
      let target = try endpoint("http://127.0.0.1:9000").target(key: "a b/c+d")
      #expect(target.host == "127.0.0.1:9000")
      #expect(target.path == "/my-bucket/a%20b/c%2Bd")
    }

    @Test func defaultPortOmitted() throws {
      #expect(try endpoint("https://s3.example.com:443").authority == "s3.example.com")
      #expect(try endpoint("http://s3.example.com:80/").authority == "s3.example.com")
      #expect(try endpoint("https://s3.example.com:80").authority == "s3.example.com:80")
    }

    @Test func virtualHostedBucketInHost() throws {
      let s3 = try endpoint("https://s3.eu-west-1.amazonaws.com", style: .virtualHosted)
      let target = s3.target(key: "x//y/../z")
      #expect(target.host == "my-bucket.s3.eu-west-1.amazonaws.com")
      #expect(target.path == "/x//y/../z")
      #expect(s3.target(key: nil).path == "/")
    }

    @Test func basePathPrepended() throws {
      let target = try endpoint("https://gateway.example.com/storage/").target(key: "k")
      #expect(target.path == "/storage/my-bucket/k")
      #expect(
        try endpoint("https://gateway.example.com/storage").target(key: nil).path
          == "/storage/my-bucket")
    }

    @Test func ipv6HostBracketed() throws {
      #expect(try endpoint("http://[::1]:9000").authority == "[::1]:9000")
    }

    @Test func queryEncoded() throws {
      let s3 = try endpoint("http://127.0.0.1:9000")
      let url = s3.url(
        host: "127.0.0.1:9000", path: "/my-bucket",
        query: [(name: "uploads", value: nil), (name: "prefix", value: "a b/+&")])
      #expect(url == "http://127.0.0.1:9000/my-bucket?uploads&prefix=a%20b%2F%2B%26")
    }

    @Test func invalidEndpointsRejected() {
      for url in ["ftp://host", "127.0.0.1:9000", "http://", "http://host/?x=1", "http://u:p@host"]
      {
        #expect(throws: LifeboatError.self, "\(url)") { try endpoint(url) }
      }
    }

    @Test func virtualHostNeedsDNSName() {
      #expect(throws: LifeboatError.self) {
        try S3Configuration(
          bucket: "my.dotted.bucket", endpoint: "https://s3.amazonaws.com",
          addressingStyle: .virtualHosted,
          credentials: AWSCredentials(accessKeyId: "AKID", secretAccessKey: "secret")
        ).validate()
      }
    }

    @Test func awsDefaultsToVirtualHosts() {
      let credentials = AWSCredentials(accessKeyId: "AKID", secretAccessKey: "secret")
      #expect(
        S3Configuration(bucket: "plain", credentials: credentials).addressingStyle
          == .virtualHosted)
      #expect(
        S3Configuration(bucket: "with.dots", credentials: credentials).addressingStyle
          == .path)
      #expect(
        S3Configuration(
          bucket: "plain", endpoint: "http://127.0.0.1:9000", credentials: credentials
        )
        .addressingStyle == .path)
    }
  }
}
