import Testing

@testable import Lifeboat

extension StorageTests {
  struct S3RedactionTests {
    @Test func redactsSecretHeaders() {
      let headers = S3Redaction.redact(headers: [
        (name: "Authorization", value: "AWS4-HMAC-SHA256 Credential=AKID/..., Signature=abc"),
        (name: "X-Amz-Security-Token", value: "token"),
        (name: "x-amz-date", value: "20240101T000000Z"),
      ])
      #expect(headers[0].value == "<redacted>")
      #expect(headers[1].value == "<redacted>")
      #expect(headers[2].value == "20240101T000000Z")
    }

    @Test func redactsPresignedQuery() {
      let url =
        "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F"
        + "&X-Amz-Security-Token=tok&X-Amz-Signature=deadbeef&partNumber=2"
      let redacted = S3Redaction.redact(url: url)
      #expect(!redacted.contains("deadbeef"))
      #expect(!redacted.contains("tok&"))
      #expect(!redacted.contains("AKID"))
      #expect(redacted.contains("X-Amz-Signature=<redacted>"))
      #expect(redacted.contains("partNumber=2"))
      #expect(redacted.hasPrefix("https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&"))
    }

    @Test func leavesPlainURL() {
      #expect(S3Redaction.redact(url: "http://127.0.0.1/b/k") == "http://127.0.0.1/b/k")
    }

    @Test func decodesURLEncodedListingKeys() {
      #expect(S3Client.decodeListedKey("a+b%2Bc%26%C3%A9", isURLEncoded: true) == "a b+c&é")
      #expect(S3Client.decodeListedKey("a+b", isURLEncoded: false) == "a+b")
    }

    @Test func parsesErrorDocument() {
      let xml = """
        <?xml version="1.0" encoding="UTF-8"?>
        <Error><Code>RequestTimeTooSkewed</Code><Message>The difference is too large.</Message>
        <RequestId>4442587FB7D0A2F9</RequestId><ServerTime>2024-06-01T12:00:00Z</ServerTime></Error>
        """
      let root = S3XMLElement.parse(Array(xml.utf8))
      #expect(root?.name == "Error")
      #expect(root?.text(of: "Code") == "RequestTimeTooSkewed")
      #expect(root?.text(of: "RequestId") == "4442587FB7D0A2F9")
      let serverTime = root?.text(of: "ServerTime").flatMap(S3Client.parseISO8601)
      #expect(serverTime?.timeIntervalSince1970 == 1_717_243_200)
    }

    @Test func multipartETagOfParts() {
      // Two parts "a" and "b": MD5(MD5("a") ‖ MD5("b")) followed by the part count.
      let etag = S3ObjectWriter.multipartETag([
        S3Checksum.md5(Array("a".utf8)), S3Checksum.md5(Array("b".utf8)),
      ])
      #expect(etag == "96e024ba2074fe77e8e965ba43a704be-2")
      #expect(S3Checksum.md5(Array("a".utf8)).hexString == "0cc175b9c0f1b6a831c399e269772661")
      #expect(S3Checksum.contentMD5([]) == "1B2M2Y8AsgTpgAmY7PhCfg==")
    }
  }
}
