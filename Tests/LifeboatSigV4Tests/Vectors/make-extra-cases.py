#!/usr/bin/env python3
"""Writes extra-cases.jsonl: SigV4 cases in the format of cases.jsonl, signed by botocore.

usage: make-extra-cases.py OUT.jsonl      write the cases defined below
       make-extra-cases.py --check FILE   re-sign every case of FILE from its inputs and report
                                          any output that differs (checks this script itself)

Needs botocore (written against 1.43.11). The clock is fixed by patching
botocore.auth.get_current_datetime; S3 header cases use S3SigV4Auth, presigned S3 cases
S3SigV4QueryAuth and generic cases SigV4Auth.
"""
import datetime
import hashlib
import json
import sys
from urllib.parse import quote, urlsplit

import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQDtest+token/with=padding=="
TIMESTAMP = "20261204T153000Z"


def percent_encode(text):
    """Percent-encodes as SigV4 does: RFC 3986 unreserved kept, upper-case hex."""
    data = text if isinstance(text, bytes) else text.encode()
    return quote(data, safe="-_.~")


def percent_encode_path(data):
    return quote(data, safe="/-_.~")


def s3_case(name, description, method="GET", key=b"", bucket="lifeboat-test", query=(),
            headers=(), body="", kind="header", expires=None, token=None, unsigned=False,
            host="127.0.0.1:9000", scheme="http"):
    key = key if isinstance(key, bytes) else key.encode()
    path = "/" + bucket + ("/" + percent_encode_path(key) if key else "")
    url = "%s://%s%s" % (scheme, host, path)
    if query:
        parts = [percent_encode(name) + ("" if value is None else "=" + percent_encode(value))
                 for name, value in query]
        url += "?" + "&".join(parts)
    try:
        object_key = key.decode() if key else None
    except UnicodeDecodeError:
        object_key = None
    return {
        "name": name, "suite": "s3", "kind": kind, "description": description,
        "method": method, "url": url, "headers": [list(h) for h in headers], "body": body,
        "payload": "unsigned" if unsigned or kind == "presigned" else "signed",
        "bucket": bucket, "object_key": object_key, "object_key_hex": key.hex() if key else None,
        "addressing": "path", "query": [list(p) for p in query],
        "access_key": ACCESS_KEY, "secret_key": SECRET, "session_token": token,
        "region": "us-east-1", "service": "s3", "timestamp": TIMESTAMP, "expires": expires,
    }


def generic_case(name, description, path, method="GET", headers=()):
    return {
        "name": name, "suite": "generic", "kind": "header", "description": description,
        "method": method, "url": "https://example.amazonaws.com" + path,
        "headers": [list(h) for h in headers], "body": "", "payload": "signed",
        "bucket": None, "object_key": None, "addressing": None, "query": [],
        "access_key": "AKIDEXAMPLE", "secret_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "session_token": None, "region": "us-east-1", "service": "service",
        "timestamp": "20150830T123600Z", "expires": None,
    }


CASES = [
    s3_case("key-not-utf8", "key bytes that are not UTF-8 (0xFF 0xFE, Latin-1 e-acute) are "
            "encoded byte by byte; object_key is null and object_key_hex has the bytes",
            key=b"raw/\xff\xfe-latin1-caf\xe9.log"),
    s3_case("key-percent-and-plus", "'%', '+', '=' and a space together in one segment",
            method="PUT", key="50%+off=now/a b.txt", body="x"),
    s3_case("key-leading-slash", "a key that starts with '/' gives '//' after the bucket",
            key="/leading/slash.txt"),
    s3_case("key-nfd", "a decomposed (NFD) accent is encoded as its own bytes, not composed",
            key="cafe\u0301/notes.txt"),
    s3_case("query-plus-and-slash", "'+', '/', '=' and '&' in query values are encoded; the "
            "space is %20", query=[("list-type", "2"), ("prefix", "a+b/c=d&e f/")]),
    s3_case("query-repeated-sort-encoded", "a repeated name sorts by encoded value: '%2F' "
            "sorts before '.', though '/' follows '.' before encoding",
            query=[("tag", "a/"), ("tag", "A"), ("tag", "a.")]),
    s3_case("query-name-sort-encoded", "names sort by their encoded bytes: '%C3%A9' sorts "
            "before 'Z', though the decoded byte 0xC3 follows 'Z'",
            query=[("aZ", "1"), ("a\u00e9", "2"), ("a", None)]),
    s3_case("header-tabs-empty-repeated", "tabs count as whitespace, an empty value signs as "
            "'name:', repeated names join with ',' in the order sent",
            method="PUT", body="x",
            headers=[("X-Amz-Meta-Tabs", "\t one\t\ttwo \t"), ("x-amz-meta-empty", ""),
                     ("X-Amz-Meta-Repeat", "b"), ("x-amz-meta-repeat", " a ")]),
    s3_case("session-token-put-unsigned", "temporary credentials with UNSIGNED-PAYLOAD over "
            "HTTPS", method="PUT", key="big/file.bin", token=TOKEN, unsigned=True,
            host="s3.amazonaws.com", scheme="https"),
    s3_case("presign-session-token", "presigned GET with temporary credentials: "
            "X-Amz-Security-Token is signed and comes before X-Amz-Signature",
            key="backups/2026-12-04/home.tar.zst", kind="presigned", expires=900, token=TOKEN),
    s3_case("presign-bare-parameter", "presigned GET with a parameter without '=': signed as "
            "'acl=' and sent as 'acl='", key="docs/report.pdf", query=[("acl", None)],
            kind="presigned", expires=60),
    s3_case("presign-expires-min", "presigned URL valid for 1 second, the minimum",
            key="x.txt", kind="presigned", expires=1),
    s3_case("presign-expires-max", "presigned URL valid for 604800 seconds (7 days), the "
            "maximum", key="x.txt", kind="presigned", expires=604800),
    s3_case("presign-key-encoding", "presigned PUT of a key with '+', '%', '=' and a space",
            method="PUT", key="50%+off=now/a b.txt", kind="presigned", expires=300),
    generic_case("generic-trailing-dot-dot", "generic rules: a trailing '..' removes the "
                 "segment before it and leaves no trailing '/'", "/a/b/.."),
    generic_case("generic-dot-segments-keep-slash", "generic rules: '.' and '//' removed, the "
                 "trailing '/' kept", "/a/./b//c/"),
]


class Recorder:
    """Keeps the canonical request and string to sign that botocore computes."""

    def canonical_request(self, request):
        self.recorded_canonical_request = super().canonical_request(request)
        return self.recorded_canonical_request

    def string_to_sign(self, request, canonical_request):
        self.recorded_string_to_sign = super().string_to_sign(request, canonical_request)
        return self.recorded_string_to_sign


class HeaderAuth(Recorder, botocore.auth.SigV4Auth):
    pass


class S3HeaderAuth(Recorder, botocore.auth.S3SigV4Auth):
    pass


class S3QueryAuth(Recorder, botocore.auth.S3SigV4QueryAuth):
    pass


def sign(case):
    """Fills in the outputs of a case from its inputs."""
    when = datetime.datetime.strptime(case["timestamp"], "%Y%m%dT%H%M%SZ")
    botocore.auth.get_current_datetime = lambda *args, **kwargs: when
    credentials = botocore.credentials.Credentials(
        case["access_key"], case["secret_key"], case["session_token"])
    request = botocore.awsrequest.AWSRequest(
        method=case["method"], url=case["url"], data=case["body"].encode())
    for name, value in case["headers"]:
        request.headers[name] = value  # appends, so repeated names stay repeated
    if case["payload"] == "unsigned" and case["kind"] == "header":
        request.context["client_config"] = botocore.config.Config(
            s3={"payload_signing_enabled": False})
    if case["suite"] == "generic":
        auth = HeaderAuth(credentials, case["service"], case["region"])
    elif case["kind"] == "presigned":
        auth = S3QueryAuth(credentials, case["service"], case["region"], expires=case["expires"])
    else:
        auth = S3HeaderAuth(credentials, case["service"], case["region"])
    before = dict((name.lower(), value) for name, value in case["headers"])
    auth.add_auth(request)

    out = dict(case)
    out["body_sha256"] = hashlib.sha256(case["body"].encode()).hexdigest()
    canonical = auth.recorded_canonical_request
    out["payload_hash"] = canonical.rsplit("\n", 1)[1]
    out["canonical_request"] = canonical
    out["string_to_sign"] = auth.recorded_string_to_sign
    if case["kind"] == "presigned":
        query = urlsplit(request.url).query
        out["signature"] = query.rsplit("X-Amz-Signature=", 1)[1]
        out["signed_headers"] = canonical.split("\n")[-2].split(";")
        out["presigned_url"] = request.url
    else:
        authorization = request.headers["Authorization"]
        out["signature"] = authorization.rsplit("Signature=", 1)[1]
        out["signed_headers"] = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
        out["authorization"] = authorization
        out["added_headers"] = [[name, value] for name, value in request.headers.items()
                                if name.lower() not in before]
    if out.get("expires") is None:
        out.pop("expires", None)
    return out


OUTPUTS = ["canonical_request", "string_to_sign", "signature", "signed_headers",
           "authorization", "added_headers", "presigned_url", "payload_hash"]


def check(path):
    failures = 0
    count = 0
    for line in open(path, encoding="utf-8"):
        case = json.loads(line)
        case.setdefault("expires", None)
        resigned = sign(case)
        count += 1
        for field in OUTPUTS:
            if field in case and case[field] != resigned.get(field):
                failures += 1
                print("%s: %s differs\n  file:    %r\n  botocore: %r"
                      % (case["name"], field, case[field], resigned.get(field)))
    print("%d cases, %d differing fields" % (count, failures))
    return 1 if failures else 0


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        sys.exit(check(sys.argv[2]))
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1], "w", encoding="utf-8") as out:
        for case in CASES:
            out.write(json.dumps(sign(case), ensure_ascii=False) + "\n")
    print("wrote %d cases to %s" % (len(CASES), sys.argv[1]))


if __name__ == "__main__":
    main()
