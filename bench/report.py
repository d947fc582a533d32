"""Turn a bench/run.sh results directory into a markdown table: one row per workload, one column
per server (IOPS for 4 KiB jobs, MiB/s for 1 MiB jobs and nbdcopy), and the ratio of each blockpipe
configuration to `nbdkit memory` — the in-RAM ceiling any NBD server on this machine is measured against.

usage: report.py RESULTS_DIR SERVER...   (files: SERVER/JOB.N.json, SERVER/nbdcopy-{in,out}.txt;
                                          the median of a job's runs is shown)
"""
import glob
import json
import os
import statistics
import sys

JOBS = [
    ("randwrite-4k-qd32", "4k random write, qd32", "write", "iops"),
    ("randwrite-4k-qd1", "4k random write, qd1", "write", "iops"),
    ("randread-4k-qd32", "4k random read, qd32", "read", "iops"),
    ("randread-4k-qd1", "4k random read, qd1", "read", "iops"),
    ("seqwrite-1m-qd8", "1 MiB sequential write, qd8", "write", "mibs"),
    ("seqread-1m-qd8", "1 MiB sequential read, qd8", "read", "mibs"),
    ("seqwrite-1m-qd8-flush16m", "1 MiB sequential write, qd8, FLUSH every 16 MiB", "write", "mibs"),
    ("randwrite-4k-qd32-flush1m", "4k random write, qd32, FLUSH every 1 MiB", "write", "iops"),
]
COPIES = [("nbdcopy-in", "nbdcopy 1 GiB in"), ("nbdcopy-out", "nbdcopy 1 GiB out")]
REFERENCE = "nbdkit-memory"
# nbdkit's file plugin writing a file on the same disk as blockpipe's objects: the bound for
# writes when the objects are on a disk (bench/run.sh --objects-dir).
FILE_REFERENCE = "nbdkit-file"


def fio_value(results, server, job, direction, unit):
    """The median over the runs of one job (files JOB.N.json, or JOB.json from older runs)."""
    paths = sorted(glob.glob(os.path.join(results, server, job + ".*.json")))
    paths = paths or [os.path.join(results, server, job + ".json")]
    values = []
    for path in paths:
        try:
            with open(path) as f:
                stats = json.load(f)["jobs"][0]
        except (OSError, ValueError, KeyError, IndexError):
            continue
        if stats.get("error"):
            continue
        side = stats[direction]
        values.append(side["iops"] if unit == "iops" else side["bw_bytes"] / (1 << 20))
    return statistics.median(values) if values else None


def copy_value(path):
    # The file holds "<bytes> <seconds>".
    try:
        with open(path) as f:
            size, seconds = f.read().split()
        return int(size) / (1 << 20) / float(seconds)
    except (OSError, ValueError):
        return None


def fmt(value, unit):
    if value is None:
        return "n/a"
    return f"{value:,.0f} IOPS" if unit == "iops" else f"{value:,.0f} MiB/s"


def main():
    results, servers = sys.argv[1], sys.argv[2:]
    rows = []
    for job, title, direction, unit in JOBS:
        values = {s: fio_value(results, s, job, direction, unit) for s in servers}
        if any(v is not None for v in values.values()):  # jobs not run (--jobs) get no row
            rows.append((title, unit, values))
    for name, title in COPIES:
        rows.append((title, "mibs", {s: copy_value(os.path.join(results, s, name + ".txt"))
                                     for s in servers}))
    # Every blockpipe configuration (blockpipe, blockpipe-zstd-encrypt) gets its ratio column.
    ours = [s for s in servers if s.startswith("blockpipe")]
    refs = [r for r in (REFERENCE, FILE_REFERENCE) if r in servers]
    pairs = [(s, r) for r in refs for s in ours]
    # The local journal against the same config without it (the same run, back to back).
    if "blockpipe-journal" in servers and "blockpipe" in servers:
        pairs.insert(0, ("blockpipe-journal", "blockpipe"))
    header = ["workload"] + servers + [f"{s} / {r.replace('-', ' ')}" for s, r in pairs]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for title, unit, values in rows:
        cells = [title] + [fmt(values[s], unit) for s in servers]
        for s, r in pairs:
            a, b = values[s], values[r]
            cells.append(f"{100 * a / b:.0f}%" if a is not None and b else "n/a")
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
