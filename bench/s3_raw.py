#!/usr/bin/python3
"""Raw parallel PUT and GET throughput of an S3 store, measured without blockpipe.

bench/remote-targets.sh compares blockpipe's sequential reads and durable writes on S3 with what
the store itself takes from a plain client on the same machine. This is that client: THREADS
threads each PUT objects of SIZE bytes of random data under PREFIX for at most SECONDS (and at
most COUNT objects in all), then the same threads GET every object written back, again bounded
by SECONDS. It signs with the tests' own SigV4 code (tests/lib/s3_admin.py, standard library
only), which shares nothing with blockpipe's S3 plugin. Each thread keeps one HTTP connection
open across its requests, as an SDK's connection pool would. The payload hash is computed per
request (SigV4 with a signed payload), as blockpipe's plugin does.

Settings come from the environment the RGW fixture writes (RGW_ENDPOINT, AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_REGION). Prints one JSON object: bytes, seconds and MiB/s per
direction, and the objects' count. The objects stay for the caller to delete with the prefix.

usage: s3_raw.py BUCKET PREFIX [--threads 8] [--size-mib 4] [--count 128] [--seconds 30]
"""

import argparse
import datetime
import hashlib
import http.client
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
from s3_admin import S3Client, uri_encode  # noqa: E402


class Worker(S3Client):
    """An S3Client that reuses one keep-alive connection for all of a thread's requests."""

    def __init__(self, *args):
        super().__init__(*args)
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def call(self, method, bucket, key, body=b""):
        headers = {}
        path = f"/{bucket}/{key}"
        payload_hash = hashlib.sha256(body).hexdigest()
        if method == "PUT":
            headers["content-length"] = str(len(body))
        self._sign(method, path, {}, headers, payload_hash, datetime.datetime.now(datetime.timezone.utc))
        self.conn.request(method, uri_encode(path, True), body=body or None, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{method} {key}: HTTP {resp.status} {data[:200]!r}")
        return data


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("bucket")
    p.add_argument("prefix")
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--size-mib", type=int, default=4)
    p.add_argument("--count", type=int, default=128)
    p.add_argument("--seconds", type=float, default=30)
    args = p.parse_args()
    env = os.environ
    creds = (env["RGW_ENDPOINT"], env.get("AWS_REGION") or "us-east-1", env["AWS_ACCESS_KEY_ID"],
             env["AWS_SECRET_ACCESS_KEY"])
    size = args.size_mib << 20
    # One random payload per thread: the store sees incompressible data, the client no RNG cost.
    payloads = [os.urandom(size) for _ in range(args.threads)]
    lock = threading.Lock()
    written = []
    errors = []
    next_index = [0]

    def put_loop(t, deadline):
        w = Worker(*creds)
        while time.monotonic() < deadline:
            with lock:
                if next_index[0] >= args.count:
                    return
                i = next_index[0]
                next_index[0] += 1
            key = f"{args.prefix}/obj-{i:06d}"
            try:
                w.call("PUT", args.bucket, key, payloads[t])
            except (OSError, http.client.HTTPException, RuntimeError) as e:
                errors.append(str(e))
                return
            with lock:
                written.append(key)

    got = [0]

    def get_loop(keys, deadline):
        w = Worker(*creds)
        for key in keys:
            if time.monotonic() >= deadline:
                return
            try:
                n = len(w.call("GET", args.bucket, key))
            except (OSError, http.client.HTTPException, RuntimeError) as e:
                errors.append(str(e))
                return
            with lock:
                got[0] += n

    def run(target, arg_lists):
        threads = [threading.Thread(target=target, args=a) for a in arg_lists]
        t0 = time.monotonic()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return time.monotonic() - t0

    deadline = time.monotonic() + args.seconds
    put_s = run(put_loop, [(t, deadline) for t in range(args.threads)])
    put_bytes = len(written) * size
    keys = sorted(written)
    deadline = time.monotonic() + args.seconds
    get_s = run(get_loop, [(keys[t::args.threads], deadline) for t in range(args.threads)])
    result = {
        "threads": args.threads, "object_mib": args.size_mib, "objects": len(keys),
        "put_bytes": put_bytes, "put_seconds": put_s, "put_mibs": put_bytes / (1 << 20) / put_s,
        "get_bytes": got[0], "get_seconds": get_s, "get_mibs": got[0] / (1 << 20) / get_s,
        "errors": errors[:5],
    }
    print(json.dumps(result))
    return 1 if errors or not keys else 0


if __name__ == "__main__":
    sys.exit(main())
