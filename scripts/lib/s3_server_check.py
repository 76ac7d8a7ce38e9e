"""Checks that a running s3-server accepts what S3 accepts and rejects what S3 rejects.

`s3-server check` calls run() with the variables of the server's env file. Each
case sends real requests to the server and prints one PASS or FAIL line. Requests
are signed by sign_v4() below, a small SigV4 signer independent of botocore, and
boto3 serves as a second, independent client for the key round trips.
"""

import base64
import datetime
import hashlib
import hmac
import http.client
import json
import re
import time
import urllib.parse
from xml.etree import ElementTree

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

# Object keys whose encoding differs between careless and correct signers.
TRICKY_KEYS = [
    "check/plus+sign",
    "check/equals=and&ampersand,comma",
    "check/with space",
    "check/Bewerbungsstatus-Übersicht.yaml",
    "check/modèles de courriel.yaml",
    "check/odd $@:;!'()*~%",
    "check/tilde~and_under-score.dot",
]


def quote_path(key):
    """Encode an object key as S3 expects in the path: RFC 3986, upper-case hex, '/' kept."""
    return urllib.parse.quote(key, safe="/~")


def quote_query(value):
    return urllib.parse.quote(value, safe="~")


def sign_v4(method, path, query, headers, payload_hash, access_key, secret, region,
            amz_date, include_payload_hash=True, scope_date=None):
    """Add SigV4 headers for S3 to `headers` and return them.

    `path` and `query` must already be encoded exactly as they go on the request line;
    `query` is a list of (name, value) pairs, also encoded. `scope_date` (YYYYMMDD)
    replaces the date of `amz_date` in the credential scope, to test that check.
    """
    scope_date = scope_date or amz_date[:8]
    headers = dict(headers)
    headers["x-amz-date"] = amz_date
    if include_payload_hash:
        headers["x-amz-content-sha256"] = payload_hash
    names = sorted(name.lower() for name in headers)
    lower = {name.lower(): value for name, value in headers.items()}
    canonical_headers = "".join(f"{n}:{' '.join(str(lower[n]).split())}\n" for n in names)
    signed_headers = ";".join(names)
    canonical_query = "&".join(f"{k}={v}" for k, v in sorted(query))
    canonical_request = "\n".join([method, path, canonical_query, canonical_headers,
                                   signed_headers, payload_hash])
    scope = f"{scope_date}/{region}/s3/aws4_request"
    string_to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                                hashlib.sha256(canonical_request.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (scope_date, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
                                f"SignedHeaders={signed_headers}, Signature={signature}")
    return headers


class Client:
    """Sends raw requests to the server from the env file, signed by sign_v4()."""

    def __init__(self, env):
        self.env = env
        endpoint = urllib.parse.urlsplit(env["AWS_ENDPOINT_URL"])
        self.host, self.port = endpoint.hostname, endpoint.port
        self.host_header = endpoint.netloc
        self.bucket = env["LIFEBOAT_TEST_BUCKET"]

    def send(self, method, key="", query=(), body=b"", headers=None, secret=None,
             access_key=None, region=None, when=None, payload_hash=None,
             include_payload_hash=True, sign=True, scope_date=None, chunked=False):
        """Send one request and return (status, body bytes, response headers).

        With `chunked`, the body goes out with Transfer-Encoding: chunked instead of
        Content-Length.
        """
        path = f"/{self.bucket}" + (f"/{quote_path(key)}" if key else "")
        headers = dict(headers or {})
        headers["host"] = self.host_header
        if sign:
            when = when or datetime.datetime.now(datetime.timezone.utc)
            headers = sign_v4(
                method, path, list(query), headers,
                payload_hash or hashlib.sha256(body).hexdigest(),
                access_key or self.env["AWS_ACCESS_KEY_ID"],
                self.env["AWS_SECRET_ACCESS_KEY"] if secret is None else secret,
                region or self.env["AWS_REGION"], when.strftime("%Y%m%dT%H%M%SZ"),
                include_payload_hash, scope_date)
        target = path + ("?" + "&".join(f"{k}={v}" for k, v in query) if query else "")
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for name, value in headers.items():
                conn.putheader(name, value)
            if chunked:
                conn.putheader("Transfer-Encoding", "chunked")
                body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
            elif body or method in ("PUT", "POST"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body if body else None)
            response = conn.getresponse()
            return response.status, response.read(), dict(response.getheaders())
        finally:
            conn.close()


def error_code(body):
    m = re.search(rb"<Code>([^<]*)</Code>", body)
    return m.group(1).decode() if m else None


class Checker:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def expect(self, name, result, status, code=None):
        """Record whether `result` (status, body, headers) has the expected status and code."""
        got_status, body, _ = result
        got_code = error_code(body)
        ok = got_status == status and (code is None or got_code == code)
        want = f"{status} {code}" if code else str(status)
        got = f"{got_status} {got_code}" if got_code else str(got_status)
        self.report(ok, name, f"expected {want}, got {got}")
        return ok

    def report(self, ok, name, detail):
        if ok:
            self.passed += 1
            print(f"PASS  {name}")
        else:
            self.failed += 1
            print(f"FAIL  {name}: {detail}")


def check_auth(c, ck, env, max_skew):
    ck.expect("signed ListObjectsV2", c.send("GET", query=[("list-type", "2")]), 200)
    ck.expect("unsigned request", c.send("GET", query=[("list-type", "2")], sign=False),
              403, "AccessDenied")
    ck.expect("wrong secret", c.send("GET", query=[("list-type", "2")],
                                     secret=env["AWS_SECRET_ACCESS_KEY"] + "x"),
              403, "SignatureDoesNotMatch")
    ck.expect("unknown access key", c.send("GET", query=[("list-type", "2")],
                                           access_key="AKIAUNKNOWNKEY000000"),
              403, "InvalidAccessKeyId")
    ck.expect("x-amz-content-sha256 missing",
              c.send("GET", query=[("list-type", "2")], include_payload_hash=False),
              400, "InvalidRequest")
    ck.expect("scope region is not the server's",
              c.send("GET", query=[("list-type", "2")], region="eu-north-1"),
              400, "AuthorizationHeaderMalformed")
    if max_skew > 0:
        old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=max_skew + 120)
        ck.expect("X-Amz-Date beyond --max-skew", c.send("GET", query=[("list-type", "2")],
                                                          when=old),
                  403, "RequestTimeTooSkewed")
    ck.expect("UNSIGNED-PAYLOAD accepted",
              c.send("PUT", "check/unsigned", body=b"abc", payload_hash="UNSIGNED-PAYLOAD"), 200)


def check_other_auth(c, ck, env):
    """Session tokens, SigV2, credential scope date and unframed PUT bodies."""
    session = {"access_key": env["LIFEBOAT_TEST_SESSION_ACCESS_KEY_ID"],
               "secret": env["LIFEBOAT_TEST_SESSION_SECRET_ACCESS_KEY"]}
    token = env["LIFEBOAT_TEST_SESSION_TOKEN"]
    listing = [("list-type", "2")]
    ck.expect("session key with its token",
              c.send("GET", query=listing, headers={"x-amz-security-token": token}, **session),
              200)
    ck.expect("session key with a wrong token",
              c.send("GET", query=listing, headers={"x-amz-security-token": token[:-4] + "AAAA"},
                     **session),
              400, "InvalidToken")
    ck.expect("session key without its token", c.send("GET", query=listing, **session),
              403, "InvalidAccessKeyId")
    ck.expect("SigV2 Authorization header",
              c.send("GET", query=listing, sign=False, headers={"Authorization": "AWS AKIAX:c2ln"}),
              400, "InvalidRequest")
    ck.expect("SigV2 presigned URL",
              c.send("GET", "check/payload", sign=False,
                     query=[("AWSAccessKeyId", "AKIAX"), ("Expires", "4102444800"),
                            ("Signature", "c2ln")]),
              400, "InvalidRequest")
    ck.expect("scope date is not the X-Amz-Date day",
              c.send("GET", query=listing, scope_date="20200101"),
              400, "AuthorizationHeaderMalformed")
    ck.expect("PUT with Transfer-Encoding: chunked",
              c.send("PUT", "check/chunked", body=b"abc", chunked=True),
              411, "MissingContentLength")


def aws_chunked(env, seed_signature, amz_date, chunks):
    """Encode `chunks` as an aws-chunked body, each chunk signed after the one before."""
    scope = f"{amz_date[:8]}/{env['AWS_REGION']}/s3/aws4_request"
    key = ("AWS4" + env["AWS_SECRET_ACCESS_KEY"]).encode()
    for part in (amz_date[:8], env["AWS_REGION"], "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    body, previous = b"", seed_signature
    for chunk in list(chunks) + [b""]:
        string_to_sign = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous,
                                    EMPTY_SHA256, hashlib.sha256(chunk).hexdigest()])
        previous = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        body += b"%x;chunk-signature=%s\r\n%s\r\n" % (len(chunk), previous.encode(), chunk)
    return body


def check_aws_chunked(c, ck, env):
    """Send a STREAMING-AWS4-HMAC-SHA256-PAYLOAD upload, then one with a changed chunk."""
    chunks = [b"x" * 8192, b"last chunk\n"]
    decoded_length = sum(len(chunk) for chunk in chunks)
    path = f"/{c.bucket}/{quote_path('check/aws-chunked')}"
    for name, corrupt, status, code in (("aws-chunked upload", False, 200, None),
                                        ("aws-chunked chunk changed", True, 403,
                                         "SignatureDoesNotMatch")):
        amz_date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        # The encoded length is part of the signed headers, so compute it from a dry run.
        length = len(aws_chunked(env, "0" * 64, amz_date, chunks))
        headers = sign_v4("PUT", path, [], {
            "host": c.host_header, "content-encoding": "aws-chunked",
            "content-length": str(length), "x-amz-decoded-content-length": str(decoded_length),
        }, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", env["AWS_ACCESS_KEY_ID"],
            env["AWS_SECRET_ACCESS_KEY"], env["AWS_REGION"], amz_date)
        seed = headers["Authorization"].rsplit("Signature=", 1)[1]
        body = aws_chunked(env, seed, amz_date, chunks)
        if corrupt:
            body = body.replace(b"last chunk", b"LAST chunk")
        conn = http.client.HTTPConnection(c.host, c.port, timeout=30)
        try:
            conn.putrequest("PUT", path, skip_host=True, skip_accept_encoding=True)
            for header, value in headers.items():
                conn.putheader(header, value)
            conn.endheaders(body)
            response = conn.getresponse()
            result = (response.status, response.read(), dict(response.getheaders()))
        finally:
            conn.close()
        ck.expect(name, result, status, code)
    got = c.send("GET", "check/aws-chunked")
    ck.report(got[0] == 200 and got[1] == b"".join(chunks), "aws-chunked object reads back",
              f"status {got[0]}, {len(got[1])} bytes")


def check_payload(c, ck):
    body = b"payload for the digest checks\n"
    ck.expect("PUT with body hash", c.send("PUT", "check/payload", body=body), 200)
    ck.expect("x-amz-content-sha256 of another body",
              c.send("PUT", "check/payload", body=body,
                     payload_hash=hashlib.sha256(b"other").hexdigest()),
              400, "XAmzContentSHA256Mismatch")
    good_md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    bad_md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    ck.expect("correct Content-MD5", c.send("PUT", "check/payload", body=body,
                                            headers={"Content-MD5": good_md5}), 200)
    ck.expect("wrong Content-MD5", c.send("PUT", "check/payload", body=body,
                                          headers={"Content-MD5": bad_md5}),
              400, "BadDigest")
    ck.expect("malformed Content-MD5", c.send("PUT", "check/payload", body=body,
                                              headers={"Content-MD5": "not-base64!"}),
              400, "InvalidDigest")


def check_tricky_keys(c, ck):
    """Round-trip keys that need careful encoding, signed by sign_v4()."""
    for key in TRICKY_KEYS:
        data = f"content of {key}\n".encode()
        put = c.send("PUT", key, body=data)
        got = c.send("GET", key)
        ok = put[0] == 200 and got[0] == 200 and got[1] == data
        ck.report(ok, f"raw round trip {key!r}",
                  f"PUT {put[0]} {error_code(put[1])}, GET {got[0]} {error_code(got[1])}")
    listed = c.send("GET", query=[("list-type", "2"), ("prefix", quote_query("check/"))])
    names = {e.text for e in ElementTree.fromstring(listed[1]).iter() if e.tag.endswith("}Key")}
    missing = [k for k in TRICKY_KEYS if k not in names]
    ck.report(listed[0] == 200 and not missing, "ListObjectsV2 with prefix lists every key",
              f"status {listed[0]}, missing {missing}")


def check_boto3(env, ck):
    """Round-trip the same keys with boto3, an independent SigV4 client."""
    import boto3
    import botocore.config

    # boto3 presigns with SigV2 unless signature_version is set, and the server accepts SigV4 only.
    config = botocore.config.Config(signature_version="s3v4", retries={"max_attempts": 1},
                                       s3={"addressing_style": "path"})
    s3 = boto3.client(
        "s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        config=config)
    bucket = env["LIFEBOAT_TEST_BUCKET"]
    for key in TRICKY_KEYS:
        data = f"boto3 content of {key}\n".encode()
        try:
            s3.put_object(Bucket=bucket, Key="boto3/" + key, Body=data)
            got = s3.get_object(Bucket=bucket, Key="boto3/" + key)["Body"].read()
            ck.report(got == data, f"boto3 round trip {key!r}", "body differs")
        except Exception as e:  # report and go on with the next key
            ck.report(False, f"boto3 round trip {key!r}", str(e))

    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket,
                                                          "Key": "boto3/" + TRICKY_KEYS[0]},
                                    ExpiresIn=60)
    ck.expect("presigned GET", fetch(url), 200)
    short = s3.generate_presigned_url("get_object", Params={"Bucket": bucket,
                                                            "Key": "boto3/" + TRICKY_KEYS[0]},
                                      ExpiresIn=1)
    time.sleep(2.1)
    ck.expect("presigned GET after X-Amz-Expires", fetch(short), 403, "AccessDenied")
    too_long = s3.generate_presigned_url("get_object", Params={"Bucket": bucket,
                                                               "Key": "boto3/" + TRICKY_KEYS[0]},
                                         ExpiresIn=604801)
    ck.expect("presigned GET with X-Amz-Expires over a week", fetch(too_long),
              400, "AuthorizationQueryParametersError")
    tampered = url.replace("X-Amz-Expires=60", "X-Amz-Expires=61")
    ck.expect("presigned GET with changed X-Amz-Expires", fetch(tampered),
              403, "SignatureDoesNotMatch")

    session = boto3.client(
        "s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"],
        aws_access_key_id=env["LIFEBOAT_TEST_SESSION_ACCESS_KEY_ID"],
        aws_secret_access_key=env["LIFEBOAT_TEST_SESSION_SECRET_ACCESS_KEY"],
        aws_session_token=env["LIFEBOAT_TEST_SESSION_TOKEN"],
        config=config)
    try:
        session.list_objects_v2(Bucket=bucket, MaxKeys=1)
        ck.report(True, "session credentials with token", "")
    except Exception as e:  # report and go on
        ck.report(False, "session credentials with token", str(e))

    try:
        first = s3.list_objects_v2(Bucket=bucket, MaxKeys=2)
        token = first.get("NextContinuationToken")
        second = s3.list_objects_v2(Bucket=bucket, MaxKeys=2, ContinuationToken=token)
        ck.report(bool(token) and second["KeyCount"] > 0, "ListObjectsV2 continuation-token",
                  f"token {token!r}, second page {second.get('KeyCount')} keys")
    except Exception as e:  # report and go on
        ck.report(False, "ListObjectsV2 continuation-token", str(e))


def fetch(url):
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("GET", parts.path + "?" + parts.query)
        response = conn.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        conn.close()


def check_multipart(c, ck):
    key = "check/multipart"
    created = c.send("POST", key, query=[("uploads", "")])
    upload_id = re.search(rb"<UploadId>([^<]*)</UploadId>", created[1])
    if not ck.expect("CreateMultipartUpload", created, 200) or not upload_id:
        return
    upload_id = quote_query(upload_id.group(1).decode())
    part1 = b"a" * (5 * 1024 * 1024)
    part2 = b"tail\n"
    etags = []
    for number, data in ((1, part1), (2, part2)):
        result = c.send("PUT", key, query=[("partNumber", str(number)), ("uploadId", upload_id)],
                        body=data)
        ck.expect(f"UploadPart {number}", result, 200)
        etags.append(result[2].get("ETag", ""))
    xml = "<CompleteMultipartUpload>" + "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>"
        for n, e in enumerate(etags, 1)) + "</CompleteMultipartUpload>"
    ck.expect("CompleteMultipartUpload", c.send("POST", key, query=[("uploadId", upload_id)],
                                                body=xml.encode()), 200)
    got = c.send("GET", key)
    ck.report(got[0] == 200 and got[1] == part1 + part2, "multipart object reads back",
              f"status {got[0]}, {len(got[1])} bytes")

    ck.expect("UploadPart with unknown uploadId",
              c.send("PUT", key, query=[("partNumber", "1"), ("uploadId", "no-such-upload")],
                     body=b"x"),
              404, "NoSuchUpload")
    ck.expect("CompleteMultipartUpload with unknown uploadId",
              c.send("POST", key, query=[("uploadId", "no-such-upload")], body=xml.encode()),
              404, "NoSuchUpload")
    ck.expect("AbortMultipartUpload with unknown uploadId",
              c.send("DELETE", key, query=[("uploadId", "no-such-upload")]),
              404, "NoSuchUpload")
    ck.expect("ListObjectsV2 with a made-up continuation-token",
              c.send("GET", query=[("list-type", "2"), ("continuation-token", "bm90LWlzc3VlZA")]),
              400, "InvalidArgument")


def run(env, max_skew):
    """Run every check against the server in `env` and return 0 if all passed, else 1.

    `max_skew` is the server's --max-skew in seconds; 0 skips the clock check.
    """
    started = time.monotonic()
    client = Client(env)
    checker = Checker()
    check_auth(client, checker, env, max_skew)
    check_other_auth(client, checker, env)
    check_payload(client, checker)
    check_aws_chunked(client, checker, env)
    check_tricky_keys(client, checker)
    check_boto3(env, checker)
    check_multipart(client, checker)
    print(json.dumps({"passed": checker.passed, "failed": checker.failed,
                      "seconds": round(time.monotonic() - started, 2)}))
    print(f"{checker.passed} passed, {checker.failed} failed")
    return 0 if checker.failed == 0 else 1
