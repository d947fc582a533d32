#!/usr/bin/env python3
"""A small Azure Blob client for the tests, independent of blockpipe's own backend.

Tests use it to set a store up (create the container the daemon will use), to look at what the
daemon stored, and to tamper with it (overwrite or delete a blob behind the daemon's back). It
signs with Shared Key itself (Python's hmac/hashlib/base64 only), so a bug in the C++ signer
cannot hide behind the same bug here, and it can mint an account SAS token for the SAS tests.

Connection settings come from the command line or from the environment that
tests/servers/azurite/start.sh writes: AZURITE_BLOB_ENDPOINT (or AZURE_BLOB_ENDPOINT),
AZURE_STORAGE_ACCOUNT, AZURE_STORAGE_KEY.

    azure_admin.py create-container NAME
    azure_admin.py delete-container NAME
    azure_admin.py list CONTAINER [PREFIX]        one "name<TAB>size" line per blob
    azure_admin.py get CONTAINER BLOB [FILE]      to FILE or stdout
    azure_admin.py put CONTAINER BLOB FILE        FILE "-" reads stdin
    azure_admin.py delete CONTAINER BLOB
    azure_admin.py sas [--minutes N] [--permissions rwdlac]   prints an account SAS token

Exit status: 0 on success, 1 when the store answered with an error (its status and error code
are printed), 2 on bad usage.
"""

import argparse
import base64
import datetime
import email.utils
import hashlib
import hmac
import http.client
import os
import sys
import urllib.parse
import xml.etree.ElementTree as ET

API_VERSION = "2021-08-06"


class AzureError(Exception):
    def __init__(self, operation, status, code, body):
        super().__init__(f"{operation}: HTTP {status} {code or ''}".rstrip())
        self.status = status
        self.code = code
        self.body = body


class BlobAdmin:
    def __init__(self, endpoint, account, key, timeout=30):
        parsed = urllib.parse.urlsplit(endpoint)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"endpoint {endpoint!r} is not an http(s) URL")
        self.scheme = parsed.scheme
        self.host = parsed.hostname
        self.port = parsed.port or (443 if parsed.scheme == "https" else 80)
        self.base_path = parsed.path.rstrip("/")
        self.account = account
        self.key = base64.b64decode(key, validate=True)
        self.timeout = timeout

    # --- signing (Microsoft's "Authorize with Shared Key", Blob service) ---

    def _string_to_sign(self, method, path, query, headers):
        h = {k.lower(): v for k, v in headers.items()}
        length = h.get("content-length", "")
        if length == "0":
            length = ""
        standard = [
            method,
            h.get("content-encoding", ""),
            h.get("content-language", ""),
            length,
            h.get("content-md5", ""),
            h.get("content-type", ""),
            h.get("date", ""),
            h.get("if-modified-since", ""),
            h.get("if-match", ""),
            h.get("if-none-match", ""),
            h.get("if-unmodified-since", ""),
            h.get("range", ""),
        ]
        ms = sorted((k, " ".join(v.split())) for k, v in h.items() if k.startswith("x-ms-"))
        canon_headers = "".join(f"{k}:{v}\n" for k, v in ms)
        resource = f"/{self.account}{path}"
        grouped = {}
        for name, value in query:
            grouped.setdefault(name.lower(), []).append(value)
        for name in sorted(grouped):
            resource += f"\n{name}:{','.join(sorted(grouped[name]))}"
        return "\n".join(standard) + "\n" + canon_headers + resource

    def request(self, operation, method, path, query=(), headers=None, body=b"", ok=(200, 201, 202)):
        headers = dict(headers or {})
        headers["x-ms-date"] = email.utils.formatdate(usegmt=True)
        headers["x-ms-version"] = API_VERSION
        if method in ("PUT", "POST") or body:
            headers["Content-Length"] = str(len(body))
        full_path = self.base_path + path
        sts = self._string_to_sign(method, full_path, query, headers)
        mac = hmac.new(self.key, sts.encode("utf-8"), hashlib.sha256).digest()
        headers["Authorization"] = f"SharedKey {self.account}:{base64.b64encode(mac).decode()}"
        url = full_path
        if query:
            url += "?" + urllib.parse.urlencode(list(query), quote_via=urllib.parse.quote, safe="")
        cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        conn = cls(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, url, body=body if body or "Content-Length" in headers else None,
                         headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        if resp.status not in ok:
            raise AzureError(operation, resp.status, resp.getheader("x-ms-error-code"), data)
        return resp, data

    # --- operations ---

    @staticmethod
    def _blob_path(container, blob):
        return f"/{container}/" + urllib.parse.quote(blob, safe="/")

    def create_container(self, name):
        self.request("create-container", "PUT", f"/{name}", [("restype", "container")])

    def delete_container(self, name):
        self.request("delete-container", "DELETE", f"/{name}", [("restype", "container")])

    def list_blobs(self, container, prefix=""):
        """All blobs under prefix as (name, size, etag), following NextMarker."""
        out, marker = [], ""
        for _ in range(100000):
            query = [("restype", "container"), ("comp", "list")]
            if prefix:
                query.append(("prefix", prefix))
            if marker:
                query.append(("marker", marker))
            _, data = self.request("list", "GET", f"/{container}", query)
            root = ET.fromstring(data)
            for blob in root.iter("Blob"):
                props = blob.find("Properties")
                size = int(props.findtext("Content-Length", "0"))
                out.append((blob.findtext("Name"), size, props.findtext("Etag", "")))
            marker = root.findtext("NextMarker") or ""
            if not marker:
                return out
        raise RuntimeError("list did not end after 100000 pages")

    def get_blob(self, container, blob):
        _, data = self.request("get", "GET", self._blob_path(container, blob))
        return data

    def put_blob(self, container, blob, data):
        self.request("put", "PUT", self._blob_path(container, blob),
                     headers={"x-ms-blob-type": "BlockBlob",
                              "Content-Type": "application/octet-stream"},
                     body=data)

    def delete_blob(self, container, blob):
        self.request("delete", "DELETE", self._blob_path(container, blob))

    def account_sas(self, minutes=60, permissions="rwdlac"):
        """An account SAS token for the Blob service (services b, resource types sco)."""
        expiry = (datetime.datetime.now(datetime.timezone.utc) +
                  datetime.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
        fields = {"sv": API_VERSION, "ss": "b", "srt": "sco", "sp": permissions, "se": expiry,
                  "spr": "https,http"}
        sts = "\n".join([self.account, fields["sp"], fields["ss"], fields["srt"], "", fields["se"],
                         "", fields["spr"], fields["sv"], "", ""])
        mac = hmac.new(self.key, sts.encode("utf-8"), hashlib.sha256).digest()
        fields["sig"] = base64.b64encode(mac).decode()
        return urllib.parse.urlencode(fields, quote_via=urllib.parse.quote, safe="")


def main(argv):
    parser = argparse.ArgumentParser(description="Azure Blob test client (Shared Key).")
    parser.add_argument("--endpoint", default=os.environ.get("AZURITE_BLOB_ENDPOINT") or
                        os.environ.get("AZURE_BLOB_ENDPOINT"))
    parser.add_argument("--account", default=os.environ.get("AZURE_STORAGE_ACCOUNT"))
    parser.add_argument("--key", default=os.environ.get("AZURE_STORAGE_KEY"))
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("create-container").add_argument("name")
    sub.add_parser("delete-container").add_argument("name")
    p = sub.add_parser("list")
    p.add_argument("container")
    p.add_argument("prefix", nargs="?", default="")
    p = sub.add_parser("get")
    p.add_argument("container")
    p.add_argument("blob")
    p.add_argument("file", nargs="?")
    p = sub.add_parser("put")
    p.add_argument("container")
    p.add_argument("blob")
    p.add_argument("file")
    p = sub.add_parser("delete")
    p.add_argument("container")
    p.add_argument("blob")
    p = sub.add_parser("sas")
    p.add_argument("--minutes", type=int, default=60)
    p.add_argument("--permissions", default="rwdlac")
    args = parser.parse_args(argv)
    for name in ("endpoint", "account", "key"):
        if not getattr(args, name):
            parser.error(f"--{name} is not set (nor its environment variable)")

    try:
        admin = BlobAdmin(args.endpoint, args.account, args.key)
    except (ValueError, base64.binascii.Error) as e:
        parser.error(str(e))
    try:
        if args.command == "create-container":
            admin.create_container(args.name)
        elif args.command == "delete-container":
            admin.delete_container(args.name)
        elif args.command == "list":
            for name, size, _ in admin.list_blobs(args.container, args.prefix):
                print(f"{name}\t{size}")
        elif args.command == "get":
            data = admin.get_blob(args.container, args.blob)
            if args.file:
                with open(args.file, "wb") as f:
                    f.write(data)
            else:
                sys.stdout.buffer.write(data)
        elif args.command == "put":
            if args.file == "-":
                data = sys.stdin.buffer.read()
            else:
                with open(args.file, "rb") as f:
                    data = f.read()
            admin.put_blob(args.container, args.blob, data)
        elif args.command == "delete":
            admin.delete_blob(args.container, args.blob)
        elif args.command == "sas":
            print(admin.account_sas(args.minutes, args.permissions))
    except AzureError as e:
        print(f"azure_admin: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader of our output went away (`| head`): not the store's fault.
        return 0
    except OSError as e:
        print(f"azure_admin: cannot reach {args.endpoint}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
