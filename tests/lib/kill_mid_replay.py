#!/usr/bin/python3
"""Kill a starting daemon with SIGKILL while it replays its local journal: as soon as the
directory of a file-backend volume's segments holds AT more objects than it did before the
start, and before it holds all the objects the replay is to upload.

    kill_mid_replay.py PID SEGMENT_DIR BEFORE TOTAL TIMEOUT_S [AT]

BEFORE: the number of segment objects before the daemon started; TOTAL: the number once the
whole journal is uploaded; AT: how many replayed segments to let through (default 1). Polls every half millisecond (the replay uploads one segment at a
time, each with an fsync, so the window is many polls wide).

Prints what it did; exit status 0 when it killed the daemon mid-replay, 2 when the replay had
finished (or the daemon exited) before it could, 1 on a timeout or a bad argument.
"""

import os
import signal
import sys
import time


def segment_count(path):
    try:
        return sum(1 for name in os.listdir(path) if not name.startswith("."))
    except FileNotFoundError:
        return 0


def main(argv):
    try:
        pid, path = int(argv[1]), argv[2]
        before, total, timeout = int(argv[3]), int(argv[4]), float(argv[5])
        at = int(argv[6]) if len(argv) > 6 else 1
    except (IndexError, ValueError):
        print(__doc__, file=sys.stderr)
        return 1
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = segment_count(path)
        if count >= total:
            print(f"the replay finished ({count} segments) before the kill")
            return 2
        if count >= before + at:
            os.kill(pid, signal.SIGKILL)
            print(f"killed pid {pid} mid-replay: {count - before} of {total - before} segments "
                  f"uploaded")
            return 0
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            print(f"pid {pid} exited before its replay started")
            return 2
        time.sleep(0.0005)
    print(f"timed out after {timeout}s: the replay never started")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
