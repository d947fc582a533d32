#!/usr/bin/python3
"""Write numbered 1 MiB chunks of incompressible data, each followed by a FLUSH, and remember
exactly which FLUSHes were acknowledged, so a later run can check that every acknowledged one
survived whatever came in between (a full journal disk, kill -9, a replay).

Chunk N lives at offset N MiB and its bytes derive from N alone. The state file maps each chunk
to "flushed" (its write and the FLUSH after it succeeded) or "written" (the write was
acknowledged, the FLUSH failed with EIO: the data may or may not be durable).

    flushed_chunks.py write URI STATE FIRST COUNT [MAX_FAILURES]
        chunks FIRST .. FIRST+COUNT-1; stops early after MAX_FAILURES failed FLUSHes (default:
        never). Any error other than EIO on a FLUSH, or any failed write, is a test failure.
    flushed_chunks.py verify URI STATE [all]
        every "flushed" chunk reads back exactly; each 4 KiB block of a "written" chunk holds its
        new content or zeros (never anything else), and with `all` exactly its new content (the
        daemon never restarted, so what it acknowledged is still in its memory).

Prints one summary line; exit status 0 on success, 1 on any failure.
"""

import errno
import json
import os
import random
import sys
import time

import nbd

CHUNK = 1 << 20
BLOCK = 4096


def content(n):
    return random.Random(f"chunk:{n}").randbytes(CHUNK)


def load(path):
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def save(path, state):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def write(uri, path, first, count, max_failures):
    state = load(path)
    h = nbd.NBD()
    h.connect_uri(uri)
    flushed = failed = 0
    slowest = 0.0
    for n in range(first, first + count):
        h.pwrite(content(n), n * CHUNK)
        state[str(n)] = "written"  # acknowledged; durable only if the FLUSH says so
        save(path, state)
        start = time.monotonic()
        try:
            h.flush()
        except nbd.Error as e:
            if e.errnum != errno.EIO:
                print(f"chunk {n}: FLUSH failed with {e.string} (expected EIO or success)")
                return 1
            failed += 1
            if failed >= max_failures:
                break
            continue
        finally:
            slowest = max(slowest, time.monotonic() - start)
        state[str(n)] = "flushed"
        save(path, state)
        flushed += 1
    h.shutdown()
    print(f"chunks {first}..{n}: {flushed} flushed, {failed} FLUSH(es) failed with EIO, "
          f"slowest FLUSH {slowest:.1f}s")
    return 0


def verify(uri, path, all_present):
    state = load(path)
    h = nbd.NBD()
    h.connect_uri(uri)
    zeros = bytes(BLOCK)
    exact = partial = 0
    for key, how in sorted(state.items(), key=lambda kv: int(kv[0])):
        n = int(key)
        want = content(n)
        got = h.pread(CHUNK, n * CHUNK)
        if got == want:
            exact += 1
            continue
        if how == "flushed" or all_present:
            bad = next(i for i in range(0, CHUNK, BLOCK) if got[i:i + BLOCK] != want[i:i + BLOCK])
            print(f"chunk {n} ({how}) differs from what was written, first at byte {bad}")
            return 1
        for i in range(0, CHUNK, BLOCK):
            if got[i:i + BLOCK] not in (want[i:i + BLOCK], zeros):
                print(f"chunk {n} ({how}): the 4 KiB block at {i} is neither old nor new")
                return 1
        partial += 1
    h.shutdown()
    flushed = sum(1 for how in state.values() if how == "flushed")
    print(f"verified {len(state)} chunks ({flushed} flushed): {exact} exact, "
          f"{partial} unflushed ones not (or not wholly) kept")
    return 0


def main(argv):
    try:
        if argv[1] == "write":
            max_failures = int(argv[6]) if len(argv) > 6 else 1 << 30
            return write(argv[2], argv[3], int(argv[4]), int(argv[5]), max_failures)
        if argv[1] == "verify":
            return verify(argv[2], argv[3], argv[4:5] == ["all"])
    except (IndexError, ValueError):
        pass
    except nbd.Error as e:
        print(e.string)
        return 1
    print(__doc__, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
