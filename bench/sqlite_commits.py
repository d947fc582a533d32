#!/usr/bin/python3
"""SQLite commits per second in a directory: the workload of a small transactional application.

One connection, WAL journal mode, synchronous=FULL (every commit fsyncs the WAL), one small
transaction after another (an INSERT of a 100-byte row and an UPDATE of a counter row) for
SECONDS. On a filesystem on a blockpipe volume every commit's fsync becomes an NBD FLUSH, so the
rate shows what a FLUSH costs. Prints JSON: commits, seconds, commits per second.

usage: sqlite_commits.py DIR SECONDS
"""

import json
import os
import sqlite3
import sys
import time


def main():
    directory, seconds = sys.argv[1], float(sys.argv[2])
    path = os.path.join(directory, "bench.db")
    db = sqlite3.connect(path, isolation_level=None)
    mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if mode.lower() != "wal":
        raise SystemExit(f"journal_mode WAL refused (got {mode})")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v BLOB)")
    db.execute("CREATE TABLE IF NOT EXISTS c (k INTEGER PRIMARY KEY, n INTEGER)")
    db.execute("INSERT OR IGNORE INTO c VALUES (1, 0)")
    row = os.urandom(100)
    commits = 0
    start = time.monotonic()
    end = start + seconds
    while time.monotonic() < end:
        db.execute("BEGIN")
        db.execute("INSERT INTO t (v) VALUES (?)", (row,))
        db.execute("UPDATE c SET n = n + 1 WHERE k = 1")
        db.execute("COMMIT")
        commits += 1
    elapsed = time.monotonic() - start
    n = db.execute("SELECT n FROM c WHERE k = 1").fetchone()[0]
    db.close()
    if n < commits:
        raise SystemExit(f"counter {n} < commits {commits}")
    print(json.dumps({"commits": commits, "seconds": elapsed, "commits_per_s": commits / elapsed}))


main()
