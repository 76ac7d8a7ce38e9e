"""Strict SigV4 front for moto's S3 server, and the moto patches it relies on.

scripts/s3-server loads this module inside the server process. StrictS3Front is
WSGI middleware that checks what real S3 checks before moto handles a request:
signatures over the raw request line, presigned URLs, x-amz-content-sha256,
Content-MD5, aws-chunked chunk signatures, credential scope and clock skew.
patch_moto() fixes the places where moto 5.2.1 itself differs from S3.
scripts/README.md lists what is checked and what still differs.
"""

import base64
import binascii
import datetime
import hashlib
import hmac
import io
import json
import re
import sys
import urllib.parse

LOG_PREFIX = "s3-server"
HEALTH_PATH = "/_s3-server/health"
# Set in the WSGI environ once the front has verified a presigned URL.
PRESIGNED_OK = "s3_server.presigned_verified"


class State:
    """Server-wide settings, filled in by the server process before it enforces auth."""

    enforced = False
    region = "us-east-1"
    max_skew = 900  # seconds; real S3 allows 15 minutes
    secrets = {}  # access key id -> (secret, session token or None)


def log(msg):
    sys.stderr.write(f"{LOG_PREFIX}: {msg}\n")
    sys.stderr.flush()


def patch_moto(requirement):
    """Patch moto's SigV4 check and its S3 error cases; README.md explains each patch.

    Raises RuntimeError when this moto lacks a patched method, naming `requirement`
    (the moto release the patches were written for).
    """
    patch_moto_auth(requirement)
    patch_moto_s3_errors(requirement)


def patch_moto_auth(requirement):
    import botocore.auth
    import flask
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.access_control import IAMRequestBase

    for owner, name in ((IAMRequestBase, "_create_aws_request"),
                        (IAMRequestBase, "check_signature"),
                        (ActionAuthenticatorMixin, "_authenticate_and_authorize_action")):
        if not callable(getattr(owner, name, None)):
            raise RuntimeError(f"this moto has no {owner.__name__}.{name}; "
                               f"use {requirement}")

    # 1. moto rebuilds the URL from werkzeug's decoded path, which changes
    #    percent-encoding (+ = & $ @ : , ; ! ' ( ) * % and non-ASCII keys) and
    #    then rejects correct signatures. Sign over the request line as sent.
    original_create = IAMRequestBase._create_aws_request

    def create_aws_request(self):
        request = original_create(self)
        if flask.has_request_context():
            raw = flask.request.environ.get("RAW_URI") or flask.request.environ.get("REQUEST_URI")
            if raw:
                if "://" in raw.split("?", 1)[0]:
                    raw = "/" + raw.split("://", 1)[1].partition("/")[2]
                request.url = "http://" + (flask.request.host or "localhost") + raw
        return request

    IAMRequestBase._create_aws_request = create_aws_request

    # 2. Sign exactly the headers the client listed in SignedHeaders. botocore,
    #    which moto uses to verify, drops user-agent, expect and a few others.
    botocore.auth.SIGNED_HEADERS_BLACKLIST[:] = []

    # 3. Log what the server computed when a signature does not match.
    original_check = IAMRequestBase.check_signature

    def check_signature(self):
        try:
            original_check(self)
        except Exception:
            try:
                auth = self._create_auth(self._access_key.create_credentials())
                req = self._create_aws_request()
                creq = auth.canonical_request(req)
                sts = auth.string_to_sign(req, creq)
                log("SignatureDoesNotMatch. Server-side canonical request:\n"
                     f"{creq}\n--- string to sign:\n{sts}\n---")
            except Exception as e:  # logging must never hide the real error
                log(f"SignatureDoesNotMatch (could not log details: {e})")
            raise

    IAMRequestBase.check_signature = check_signature

    # 4. Presigned URLs are verified by the front (moto cannot: it reads a
    #    missing Authorization header and fails with 500).
    original_auth = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def authenticate(self, iam_request_cls, resource="*"):
        if flask.has_request_context() and flask.request.environ.get(PRESIGNED_OK):
            return None
        return original_auth(self, iam_request_cls, resource)

    ActionAuthenticatorMixin._authenticate_and_authorize_action = authenticate


def patch_moto_s3_errors(requirement):
    """Make moto return S3's 4xx errors where it would fail with 500."""
    from moto.s3.exceptions import InvalidContinuationToken, NoSuchUpload
    from moto.s3.models import S3Backend

    for name in ("upload_part", "upload_part_copy", "complete_multipart_upload",
                 "list_objects_v2", "get_bucket"):
        if not callable(getattr(S3Backend, name, None)):
            raise RuntimeError(f"this moto has no S3Backend.{name}; use {requirement}")

    # moto indexes bucket.multiparts directly, so an unknown uploadId raises
    # KeyError (500). S3 returns 404 NoSuchUpload.
    def require_upload(original):
        def wrapper(self, bucket_name, multipart_id, *args, **kwargs):
            if multipart_id not in self.get_bucket(bucket_name).multiparts:
                raise NoSuchUpload(upload_id=multipart_id)
            return original(self, bucket_name, multipart_id, *args, **kwargs)
        return wrapper

    for name in ("upload_part", "upload_part_copy", "complete_multipart_upload"):
        setattr(S3Backend, name, require_upload(getattr(S3Backend, name)))

    # moto looks an unknown continuation-token up as None and then fails
    # comparing key names with it (500). S3 returns 400 InvalidArgument.
    original_list_v2 = S3Backend.list_objects_v2

    def list_objects_v2(self, bucket, prefix, delimiter, continuation_token, *args, **kwargs):
        if continuation_token and continuation_token not in self._pagination_tokens:
            raise InvalidContinuationToken()
        return original_list_v2(self, bucket, prefix, delimiter, continuation_token,
                                *args, **kwargs)

    S3Backend.list_objects_v2 = list_objects_v2


def s3_error(environ, start_response, status, code, message, extra=None):
    reason = {400: "Bad Request", 403: "Forbidden", 411: "Length Required"}.get(status, "Error")
    parts = [f"<Code>{code}</Code>", f"<Message>{_xml(message)}</Message>"]
    for k, v in (extra or {}).items():
        parts.append(f"<{k}>{_xml(str(v))}</{k}>")
    parts.append("<RequestId>s3-server</RequestId>")
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error>' + "".join(parts) + "</Error>").encode()
    log(f"rejected {environ.get('REQUEST_METHOD')} {environ.get('RAW_URI', '')}: {status} {code}: {message}")
    if environ.get("REQUEST_METHOD") == "HEAD":
        body = b""
    start_response(f"{status} {reason}", [("Content-Type", "application/xml"),
                                          ("Content-Length", str(len(body)))])
    return [body]


def _xml(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def parse_amz_date(value):
    try:
        return datetime.datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


def raw_query_pairs(query):
    pairs = []
    if query:
        for part in query.split("&"):
            k, _, v = part.partition("=")
            pairs.append((k, v))
    return pairs


class StrictS3Front:
    """WSGI middleware in front of moto. See README.md for what it checks."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == HEALTH_PATH:
            body = json.dumps({"status": "ok", "enforced": State.enforced}).encode()
            start_response("200 OK", [("Content-Type", "application/json"),
                                      ("Content-Length", str(len(body)))])
            return [body]
        if path.rstrip("/") in ("/moto-api/reset-auth", "/moto-api/reset"):
            # reset-auth would switch authentication off; reset would delete the
            # user and its keys along with the data.
            return s3_error(environ, start_response, 403, "AccessDenied",
                            f"{path} is disabled on this test server; restart it instead")
        if not State.enforced or path.startswith("/moto-api"):
            return self.app(environ, start_response)

        headers = {}
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                headers[key[5:].replace("_", "-").lower()] = value
        if "CONTENT_TYPE" in environ:
            headers["content-type"] = environ["CONTENT_TYPE"]
        if environ.get("CONTENT_LENGTH"):
            headers["content-length"] = environ["CONTENT_LENGTH"]

        # Read the body once, hand moto a copy.
        body = b""
        has_length = bool(environ.get("CONTENT_LENGTH"))
        if has_length:
            body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        elif environ.get("wsgi.input_terminated"):
            body = environ["wsgi.input"].read()
            environ["CONTENT_LENGTH"] = str(len(body))
        environ["wsgi.input"] = io.BytesIO(body)

        query = environ.get("QUERY_STRING", "")
        pairs = raw_query_pairs(query)
        qkeys = {k for k, _ in pairs}
        presigned = "X-Amz-Signature" in qkeys or "X-Amz-Credential" in qkeys
        auth = headers.get("authorization")
        method = environ.get("REQUEST_METHOD", "GET")

        if auth and presigned:
            return s3_error(environ, start_response, 400, "InvalidArgument",
                            "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                            "parameter or the Authorization header should be specified")
        if not auth and not presigned and "AWSAccessKeyId" in qkeys:
            return s3_error(environ, start_response, 400, "InvalidRequest",
                            "Signature Version 2 presigned URLs are not supported by this test "
                            "server; please use AWS4-HMAC-SHA256 (boto3: signature_version='s3v4').")
        if not auth and not presigned:
            return s3_error(environ, start_response, 403, "AccessDenied",
                            "Access Denied (anonymous requests are refused on this test server)")

        if auth:
            err = self.check_header_auth(headers, body)
        else:
            err = self.check_presigned(environ, headers, pairs)
            if err is None:
                environ[PRESIGNED_OK] = True
        if err:
            return s3_error(environ, start_response, *err)

        if method == "PUT" and not has_length:
            return s3_error(environ, start_response, 411, "MissingContentLength",
                            "You must provide the Content-Length HTTP header.")
        err = self.check_content_md5(headers, body)
        if err:
            return s3_error(environ, start_response, *err)
        return self.app(environ, start_response)

    # -- checks; each returns None or (status, code, message[, extra XML fields]) --

    @staticmethod
    def check_scope(credential, amz_date_value):
        parts = credential.split("/")
        if len(parts) != 5 or parts[4] != "aws4_request":
            return (400, "AuthorizationHeaderMalformed",
                    f"the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\": {credential}")
        amz_date = parse_amz_date(amz_date_value)
        if amz_date is None:
            return (403, "AccessDenied",
                    "AWS authentication requires a valid Date or x-amz-date header "
                    "(this test server accepts x-amz-date only, as YYYYMMDDTHHMMSSZ)")
        if parts[1] != amz_date_value[:8]:
            return (400, "AuthorizationHeaderMalformed",
                    f"Invalid credential date \"{parts[1]}\". This date is not the same as X-Amz-Date: \"{amz_date_value[:8]}\".")
        if parts[2] != State.region:
            return (400, "AuthorizationHeaderMalformed",
                    f"the region '{parts[2]}' is wrong; expecting '{State.region}'", {"Region": State.region})
        if parts[3] != "s3":
            return (400, "AuthorizationHeaderMalformed",
                    f"the service '{parts[3]}' is wrong; expecting 's3'")
        return None

    @staticmethod
    def check_skew(amz_date_value):
        if State.max_skew <= 0:
            return None
        amz_date = parse_amz_date(amz_date_value)
        now = datetime.datetime.now(datetime.timezone.utc)
        if abs((now - amz_date).total_seconds()) > State.max_skew:
            return (403, "RequestTimeTooSkewed",
                    "The difference between the request time and the current time is too large.",
                    {"RequestTime": amz_date_value, "ServerTime": now.strftime("%Y%m%dT%H%M%SZ"),
                     "MaxAllowedSkewMilliseconds": State.max_skew * 1000})
        return None

    def check_header_auth(self, headers, body):
        auth = headers["authorization"]
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return (400, "InvalidRequest", "The authorization mechanism you have provided is not "
                    "supported. Please use AWS4-HMAC-SHA256.")
        fields = {}
        for item in auth[len("AWS4-HMAC-SHA256 "):].split(","):
            k, _, v = item.strip().partition("=")
            fields[k] = v
        if not all(fields.get(k) for k in ("Credential", "SignedHeaders", "Signature")):
            return (400, "AuthorizationHeaderMalformed",
                    "The authorization header is malformed; it needs Credential, SignedHeaders and Signature.")
        if fields["Credential"].split("/")[3:4] != ["s3"]:
            return None  # not an S3 request (IAM, STS): moto checks it as usual
        amz_date_value = headers.get("x-amz-date", "")
        err = self.check_scope(fields["Credential"], amz_date_value) or self.check_skew(amz_date_value)
        if err:
            return err
        content_sha = headers.get("x-amz-content-sha256")
        if content_sha is None:
            return (400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
        if re.fullmatch(r"[0-9a-fA-F]{64}", content_sha):
            actual = hashlib.sha256(body).hexdigest()
            if content_sha.lower() != actual:
                return (400, "XAmzContentSHA256Mismatch",
                        "The provided 'x-amz-content-sha256' header does not match what was computed.",
                        {"ClientComputedContentSHA256": content_sha, "S3ComputedContentSHA256": actual})
        elif content_sha == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD":
            return self.check_chunk_signatures(fields, amz_date_value, headers, body)
        elif not (content_sha == "UNSIGNED-PAYLOAD" or content_sha.startswith("STREAMING-")):
            return (400, "InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
                    "STREAMING-..., or a valid sha256 value.")
        return None

    @staticmethod
    def check_chunk_signatures(fields, amz_date_value, headers, body):
        """aws-chunked upload: verify the chain of chunk signatures (moto does not)."""
        credential = fields["Credential"].split("/")
        if credential[0] not in State.secrets:
            return None  # moto returns InvalidAccessKeyId
        secret = State.secrets[credential[0]][0]
        key = ("AWS4" + secret).encode()
        for part in credential[1:]:
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        scope = "/".join(credential[1:])
        previous, pos, decoded = fields["Signature"], 0, 0
        while True:
            end = body.find(b"\r\n", pos)
            header = body[pos:end].decode("latin-1") if end >= 0 else ""
            m = re.fullmatch(r"([0-9a-fA-F]+);chunk-signature=([0-9a-f]{64})", header)
            if not m:
                return (400, "IncompleteBody", "The request body is not a valid aws-chunked body.")
            size = int(m.group(1), 16)
            chunk = body[end + 2:end + 2 + size]
            if len(chunk) != size or body[end + 2 + size:end + 4 + size] != b"\r\n":
                return (400, "IncompleteBody", "The request body is not a valid aws-chunked body.")
            string_to_sign = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date_value, scope, previous,
                                        hashlib.sha256(b"").hexdigest(),
                                        hashlib.sha256(chunk).hexdigest()])
            expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, m.group(2)):
                log(f"chunk signature mismatch at body offset {pos}; string to sign:\n{string_to_sign}")
                return (403, "SignatureDoesNotMatch",
                        "The request signature we calculated does not match the signature you "
                        "provided (aws-chunked chunk signature).", {"StringToSign": string_to_sign})
            previous, pos, decoded = m.group(2), end + 4 + size, decoded + size
            if size == 0:
                break
        if headers.get("x-amz-decoded-content-length") != str(decoded):
            return (400, "IncompleteBody", "x-amz-decoded-content-length does not match the body.")
        return None

    def check_presigned(self, environ, headers, pairs):
        params = {}
        for k, v in pairs:
            params.setdefault(urllib.parse.unquote(k), urllib.parse.unquote(v))
        for name in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                     "X-Amz-SignedHeaders", "X-Amz-Signature"):
            if name not in params:
                return (400, "AuthorizationQueryParametersError",
                        f"Query-string authentication version 4 requires the X-Amz-Algorithm, "
                        f"X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
                        f"and X-Amz-Expires parameters ({name} is missing).")
        if params["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256":
            return (400, "AuthorizationQueryParametersError",
                    "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
        credential, amz_date_value = params["X-Amz-Credential"], params["X-Amz-Date"]
        err = self.check_scope(credential, amz_date_value)
        if err:
            return err
        try:
            expires = int(params["X-Amz-Expires"])
        except ValueError:
            return (400, "AuthorizationQueryParametersError", "X-Amz-Expires should be a number")
        if expires < 0 or expires > 604800:
            return (400, "AuthorizationQueryParametersError",
                    "X-Amz-Expires must be less than a week (in seconds) that is 604800")
        signed_at = parse_amz_date(amz_date_value)
        now = datetime.datetime.now(datetime.timezone.utc)
        if State.max_skew > 0 and (signed_at - now).total_seconds() > State.max_skew:
            return (403, "AccessDenied", "Request is not valid yet")
        if (now - signed_at).total_seconds() > expires:
            return (403, "AccessDenied", "Request has expired", {"X-Amz-Expires": params["X-Amz-Expires"]})
        access_key = credential.split("/")[0]
        if access_key not in State.secrets:
            return (403, "InvalidAccessKeyId",
                    "The AWS Access Key Id you provided does not exist in our records.")
        secret, token = State.secrets[access_key]
        if token is not None and params.get("X-Amz-Security-Token") != token:
            return (400, "InvalidToken", "The provided token is malformed or otherwise invalid.")
        if token is None and "X-Amz-Security-Token" in params:
            return (400, "InvalidToken", "The provided token is malformed or otherwise invalid.")

        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
        raw_path = raw.split("?", 1)[0]
        if "://" in raw_path:
            raw_path = "/" + raw_path.split("://", 1)[1].partition("/")[2]
        query_pairs = sorted((k, v) for k, v in raw_query_pairs(environ.get("QUERY_STRING", ""))
                             if k != "X-Amz-Signature")
        canonical_query = "&".join(f"{k}={v}" for k, v in query_pairs)
        signed = params["X-Amz-SignedHeaders"].split(";")
        lines = []
        for name in signed:
            value = headers.get(name)
            if value is None:
                return (403, "SignatureDoesNotMatch",
                        f"The request signature we calculated does not match the signature you "
                        f"provided (signed header '{name}' is not in the request).")
            lines.append(f"{name}:{' '.join(value.split())}\n")
        canonical_request = "\n".join([
            environ.get("REQUEST_METHOD", "GET"), raw_path, canonical_query,
            "".join(lines), params["X-Amz-SignedHeaders"], "UNSIGNED-PAYLOAD"])
        scope = "/".join(credential.split("/")[1:])
        string_to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date_value, scope,
                                    hashlib.sha256(canonical_request.encode()).hexdigest()])
        key = ("AWS4" + secret).encode()
        for part in credential.split("/")[1:]:
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, params["X-Amz-Signature"]):
            log("presigned SignatureDoesNotMatch. Server-side canonical request:\n"
                 f"{canonical_request}\n--- string to sign:\n{string_to_sign}\n---")
            return (403, "SignatureDoesNotMatch",
                    "The request signature we calculated does not match the signature you provided. "
                    "Check your key and signing method.",
                    {"CanonicalRequest": canonical_request, "StringToSign": string_to_sign})
        return None

    @staticmethod
    def check_content_md5(headers, body):
        md5 = headers.get("content-md5")
        if md5 is None or headers.get("x-amz-content-sha256", "").startswith("STREAMING-"):
            return None
        try:
            digest = base64.b64decode(md5, validate=True)
        except (binascii.Error, ValueError):
            digest = b""
        if len(digest) != 16:
            return (400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
        if digest != hashlib.md5(body).digest():
            return (400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
        return None

