#!/usr/bin/python3
"""An S3 client of the tests' own, independent of blockpipe's S3 backend.

The test servers and the integration tests use it to create the test bucket, to look at what
blockpipe stored (list, get), to plant or remove objects behind the daemon's back, and to delete a
test's prefix when it passes. It signs every request with AWS Signature Version 4 written here
from the specification (standard library only), so a signing bug in the backend under test cannot
hide behind the same bug in the checker. Path-style addressing only: the loopback servers have no
DNS names.

Settings come from the environment the test-server fixtures write (RGW_ENDPOINT or S3_ENDPOINT,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, optional AWS_SESSION_TOKEN, AWS_REGION) or from options.

Exit status: 0 success, 2 not found (404), 3 precondition failed (412/409: e.g. a put with
--if-none-match on an existing key), 1 any other error, with the server's error code and message
on stderr.
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import http.client
import os
import sys
import urllib.parse
import xml.etree.ElementTree as ET

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# Safe characters of SigV4's URI encoding (RFC 3986 unreserved).
UNRESERVED = "-_.~"
DELETE_BATCH = 1000  # the most keys one DeleteObjects request may carry
TIMEOUT_S = 60


class S3Error(Exception):
    def __init__(self, status, code, message):
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code


def uri_encode(text, keep_slash):
    return urllib.parse.quote(text, safe=UNRESERVED + ("/" if keep_slash else ""))


def hmac_sha256(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


class S3Client:
    def __init__(self, endpoint, region, access_key, secret_key, session_token=None):
        url = urllib.parse.urlsplit(endpoint)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"endpoint must be http(s)://host[:port], got {endpoint!r}")
        self.scheme = url.scheme
        self.host = url.hostname
        self.port = url.port or (443 if url.scheme == "https" else 80)
        default_port = (url.scheme == "http" and self.port == 80) or (url.scheme == "https" and self.port == 443)
        self.host_header = self.host if default_port else f"{self.host}:{self.port}"
        self.region = region
        self.access_key = access_key
        self.secret_key = secret_key
        self.session_token = session_token

    def _sign(self, method, path, query, headers, payload_hash, now):
        amz_date = now.strftime("%Y%m%dT%H%M%SZ")
        day = now.strftime("%Y%m%d")
        headers["host"] = self.host_header
        headers["x-amz-date"] = amz_date
        headers["x-amz-content-sha256"] = payload_hash
        if self.session_token:
            headers["x-amz-security-token"] = self.session_token
        canonical_query = "&".join(
            f"{uri_encode(k, False)}={uri_encode(v, False)}" for k, v in sorted(query.items()))
        names = sorted(headers)
        canonical_headers = "".join(f"{n}:{' '.join(str(headers[n]).split())}\n" for n in names)
        signed = ";".join(names)
        canonical = "\n".join([method, uri_encode(path, True), canonical_query, canonical_headers,
                               signed, payload_hash])
        scope = f"{day}/{self.region}/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        key = ("AWS4" + self.secret_key).encode()
        for part in (day, self.region, "s3", "aws4_request"):
            key = hmac_sha256(key, part)
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
                                    f"SignedHeaders={signed}, Signature={signature}")
        return canonical_query

    def request(self, method, bucket, key="", query=None, body=b"", headers=None, ok=(200,)):
        """One signed request; returns (status, response headers, body) or raises S3Error."""
        query = dict(query or {})
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        path = "/" + bucket + ("/" + key if key else "")
        payload_hash = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
        if body or method in ("PUT", "POST"):
            headers["content-length"] = str(len(body))
        canonical_query = self._sign(method, path, query, headers, payload_hash,
                                     datetime.datetime.now(datetime.timezone.utc))
        target = uri_encode(path, True) + ("?" + canonical_query if canonical_query else "")
        conn_type = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        conn = conn_type(self.host, self.port, timeout=TIMEOUT_S)
        try:
            conn.request(method, target, body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        if resp.status not in ok:
            code, message = "", data[:300].decode(errors="replace")
            try:
                root = ET.fromstring(data)
                code = root.findtext("Code") or ""
                if code:
                    message = root.findtext("Message") or ""
            except ET.ParseError:
                pass
            raise S3Error(resp.status, code or resp.reason, message)
        return resp.status, dict(resp.getheaders()), data

    def create_bucket(self, bucket):
        self.request("PUT", bucket)

    def delete_bucket(self, bucket):
        self.request("DELETE", bucket, ok=(200, 204))

    def head_bucket(self, bucket):
        self.request("HEAD", bucket)

    def list(self, bucket, prefix=""):
        """Every (key, size) under prefix, following ListObjectsV2 continuation tokens."""
        token = None
        pages = 0
        while True:
            query = {"list-type": "2", "prefix": prefix, "max-keys": "1000"}
            if token:
                query["continuation-token"] = token
            _, _, data = self.request("GET", bucket, query=query)
            root = ET.fromstring(data)
            ns = root.tag[:root.tag.index("}") + 1] if root.tag.startswith("{") else ""
            for item in root.findall(f"{ns}Contents"):
                yield item.findtext(f"{ns}Key"), int(item.findtext(f"{ns}Size") or 0)
            pages += 1
            if root.findtext(f"{ns}IsTruncated") != "true":
                return
            token = root.findtext(f"{ns}NextContinuationToken")
            if not token or pages > 1_000_000:
                raise S3Error(0, "BadListing", "truncated listing without a continuation token")

    def get(self, bucket, key):
        return self.request("GET", bucket, key)[2]

    def put(self, bucket, key, data, if_none_match=False):
        headers = {"If-None-Match": "*"} if if_none_match else {}
        self.request("PUT", bucket, key, body=data, headers=headers)

    def delete(self, bucket, key):
        self.request("DELETE", bucket, key, ok=(200, 204))

    def delete_keys(self, bucket, keys):
        for start in range(0, len(keys), DELETE_BATCH):
            root = ET.Element("Delete")
            ET.SubElement(root, "Quiet").text = "true"
            for key in keys[start:start + DELETE_BATCH]:
                ET.SubElement(ET.SubElement(root, "Object"), "Key").text = key
            body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
            md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
            _, _, data = self.request("POST", bucket, query={"delete": ""}, body=body,
                                      headers={"Content-MD5": md5, "Content-Type": "application/xml"})
            result = ET.fromstring(data)
            errors = [e for e in result.iter() if e.tag.endswith("Error")]
            if errors:
                first = {c.tag.split("}")[-1]: c.text for c in errors[0]}
                raise S3Error(200, first.get("Code", "DeleteError"),
                              f"{len(errors)} keys not deleted, first {first.get('Key')}: "
                              f"{first.get('Message')}")

    def delete_prefix(self, bucket, prefix):
        keys = [key for key, _ in self.list(bucket, prefix)]
        self.delete_keys(bucket, keys)
        return len(keys)


def main():
    env = os.environ
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--endpoint", default=env.get("RGW_ENDPOINT") or env.get("S3_ENDPOINT"))
    p.add_argument("--region", default=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1")
    p.add_argument("--access-key", default=env.get("AWS_ACCESS_KEY_ID"))
    p.add_argument("--secret-key", default=env.get("AWS_SECRET_ACCESS_KEY"))
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("create-bucket", "delete-bucket", "head-bucket"):
        sub.add_parser(name).add_argument("bucket")
    c = sub.add_parser("list", help="print 'SIZE KEY' per object under the prefix")
    c.add_argument("bucket")
    c.add_argument("prefix", nargs="?", default="")
    c = sub.add_parser("count", help="print the number of objects and bytes under the prefix")
    c.add_argument("bucket")
    c.add_argument("prefix", nargs="?", default="")
    c = sub.add_parser("get")
    c.add_argument("bucket")
    c.add_argument("key")
    c.add_argument("-o", "--output", help="file to write (default stdout)")
    c = sub.add_parser("put", help="upload FILE ('-' for stdin)")
    c.add_argument("bucket")
    c.add_argument("key")
    c.add_argument("file")
    c.add_argument("--if-none-match", action="store_true", help="send If-None-Match: * (put-if-absent)")
    c = sub.add_parser("delete")
    c.add_argument("bucket")
    c.add_argument("key")
    c = sub.add_parser("delete-prefix", help="delete every object under the prefix")
    c.add_argument("bucket")
    c.add_argument("prefix")
    args = p.parse_args()

    missing = [n for n, v in (("--endpoint/RGW_ENDPOINT", args.endpoint),
                              ("--access-key/AWS_ACCESS_KEY_ID", args.access_key),
                              ("--secret-key/AWS_SECRET_ACCESS_KEY", args.secret_key)) if not v]
    if missing:
        p.error("missing " + ", ".join(missing))
    s3 = S3Client(args.endpoint, args.region, args.access_key, args.secret_key,
                  env.get("AWS_SESSION_TOKEN"))
    try:
        if args.cmd == "create-bucket":
            s3.create_bucket(args.bucket)
        elif args.cmd == "delete-bucket":
            s3.delete_bucket(args.bucket)
        elif args.cmd == "head-bucket":
            s3.head_bucket(args.bucket)
        elif args.cmd == "list":
            for key, size in s3.list(args.bucket, args.prefix):
                print(size, key)
        elif args.cmd == "count":
            objects = list(s3.list(args.bucket, args.prefix))
            print(len(objects), sum(size for _, size in objects))
        elif args.cmd == "get":
            data = s3.get(args.bucket, args.key)
            if args.output:
                with open(args.output, "wb") as f:
                    f.write(data)
            else:
                sys.stdout.buffer.write(data)
        elif args.cmd == "put":
            if args.file == "-":
                data = sys.stdin.buffer.read()
            else:
                with open(args.file, "rb") as f:
                    data = f.read()
            s3.put(args.bucket, args.key, data, args.if_none_match)
        elif args.cmd == "delete":
            s3.delete(args.bucket, args.key)
        elif args.cmd == "delete-prefix":
            if not args.prefix:
                p.error("refusing to delete an empty prefix (the whole bucket)")
            print(s3.delete_prefix(args.bucket, args.prefix))
    except S3Error as e:
        print(f"s3_admin {args.cmd}: {e}", file=sys.stderr)
        return 2 if e.status == 404 else 3 if e.status in (409, 412) else 1
    except (OSError, http.client.HTTPException) as e:
        print(f"s3_admin {args.cmd}: {args.endpoint}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
