#!/usr/bin/python3
"""Runs every NBD protocol test in this directory against the test harness: starts
nbd_host_harness with the NBD frontend plugin on a unix socket and a loopback TCP port, runs
the tests (some over both transports, the pipelining test once with inline and once with
delayed, reordered completions), stops the harness with SIGTERM and requires a clean exit
(the harness checks the frontend's stop/close contract).

usage: run_with_harness.py HARNESS PLUGIN_SO"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"  # Debian's, which has the libnbd binding


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_harness(harness, plugin, tmp, extra):
    sock = os.path.join(tmp, "nbd.sock")
    port = free_port()
    log = open(os.path.join(tmp, "harness.log"), "ab")
    proc = subprocess.Popen([harness, "--plugin", plugin,
                             "--set", f"listen=unix:{sock},127.0.0.1:{port}"] + extra,
                            stdout=subprocess.PIPE, stderr=log)
    line = proc.stdout.readline()  # "ready" once listening, or EOF if it failed
    if line.strip() != b"ready":
        proc.wait(timeout=10)
        sys.exit(f"harness did not start (exit {proc.returncode}); see {log.name}")
    return proc, f"nbd+unix:///default?socket={sock}", f"nbd://127.0.0.1:{port}/default"


def stop_harness(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return "timeout"


def run_tests(tests):
    failed = []
    for args in tests:
        start = time.monotonic()
        result = subprocess.run([PYTHON, os.path.join(HERE, args[0])] + args[1:], timeout=600)
        print(f"  ({time.monotonic() - start:.1f}s) {' '.join(args)}", flush=True)
        if result.returncode != 0:
            failed.append(" ".join(args))
    return failed


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    harness, plugin = sys.argv[1], sys.argv[2]
    failed = []
    with tempfile.TemporaryDirectory(prefix="nbd-tests.") as tmp:
        for mode, extra in (("inline completions", []),
                            ("delayed, reordered completions", ["--delay-us", "3000"])):
            print(f"== harness with {mode}", flush=True)
            proc, unix_uri, tcp_uri = start_harness(harness, plugin, tmp, extra)
            tests = [["nbd_pipelined.py", unix_uri] + (["--expect-reorder"] if extra else []),
                     ["nbd_pipelined.py", tcp_uri]]
            if not extra:
                tests += [["nbd_bounds.py", unix_uri],
                          ["nbd_fast_zero.py", unix_uri],
                          ["nbd_multiconn.py", unix_uri],
                          ["nbd_multiconn.py", tcp_uri],
                          ["nbd_exports.py", unix_uri, "--expect", "default,other"],
                          ["nbd_malformed.py", unix_uri],
                          ["nbd_malformed.py", tcp_uri],
                          ["nbd_reply_backlog.py", unix_uri]]
            else:
                tests += [["nbd_multiconn.py", unix_uri], ["nbd_bounds.py", tcp_uri],
                          ["nbd_reply_backlog.py", tcp_uri]]
            failed += run_tests(tests)
            status = stop_harness(proc)
            if status != 0:
                failed.append(f"harness exit status {status} ({mode}); see harness.log")
                with open(os.path.join(tmp, "harness.log"), "rb") as f:
                    sys.stderr.write(f.read().decode(errors="replace")[-4000:])
    if failed:
        print("FAILED:\n  " + "\n  ".join(failed))
        sys.exit(1)
    print("all NBD protocol tests passed")


if __name__ == "__main__":
    main()
