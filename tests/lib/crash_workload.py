"""One cycle of the kill -9 crash test, driven over NBD with python3-libnbd for exact control of
what was acknowledged and flushed when the daemon dies.

A cycle first verifies the volume against the state file the earlier cycles left:
  - a block written and then covered by a successful FLUSH (or written with FUA) must hold
    exactly that content;
  - a block whose write was still unflushed at the kill must hold, as a whole 4 KiB block,
    either its previous content or the new one — anything else is a torn or corrupt block;
  - every other block of the region must read as zeros.
Then it writes runs of random blocks and FLUSHes (durable from now on), writes one run with FUA,
records the next writes as pending in the state file, issues them pipelined without a flush, and
sends SIGKILL to the daemon after a random number of them — maybe before the first, maybe after
the last reply. Block contents are derived from (block, generation), so the state file only
stores generation numbers and a failure can be replayed from the seed.

usage: crash_workload.py URI STATE_FILE CYCLE DAEMON_PID   (DAEMON_PID 0: verify only)
"""
import json
import os
import random
import signal
import sys
import time

import nbd

BLOCK = 4096
REGION_BLOCKS = 4096           # the test works in the first 16 MiB of the volume
FLUSHED_BLOCKS = 160           # blocks written and flushed per cycle
PENDING_BLOCKS = 240           # blocks written without a flush before the kill


def content(block, gen):
    if gen == 0:
        return bytes(BLOCK)
    return random.Random(f"{block}:{gen}").randbytes(BLOCK)


def load_state(path):
    if not os.path.exists(path):
        return {"gen": {}, "pending": {}}
    with open(path) as f:
        return json.load(f)


def save_state(path, state):
    # Written atomically before the writes it describes are sent, so a kill at any moment leaves
    # a state file that covers every write that could have reached the daemon.
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def describe(block, data, candidates):
    for gen in candidates:
        if data == content(block, gen):
            return f"generation {gen}"
    halves = [h for h in (data[:BLOCK // 2], data[BLOCK // 2:])]
    known = []
    for half_index, half in enumerate(halves):
        match = [g for g in candidates
                 if content(block, g)[half_index * BLOCK // 2:(half_index + 1) * BLOCK // 2] == half]
        known.append(match[0] if match else None)
    if data == bytes(BLOCK):
        return "zeros"
    return f"unknown bytes (first half matches {known[0]}, second half {known[1]}: torn)"


def verify(h, state):
    gens = {int(k): v for k, v in state["gen"].items()}
    pending = {int(k): v for k, v in state["pending"].items()}
    errors = []
    chunk = 256
    for first in range(0, REGION_BLOCKS, chunk):
        data = h.pread(chunk * BLOCK, first * BLOCK)
        for i in range(chunk):
            block = first + i
            got = data[i * BLOCK:(i + 1) * BLOCK]
            if block in pending:
                old, new = pending[block]
                if got == content(block, new):
                    gens[block] = new
                elif got == content(block, old):
                    gens[block] = old
                else:
                    errors.append(f"block {block}: unflushed write left neither its old content "
                                  f"(gen {old}) nor its new one (gen {new}): "
                                  f"{describe(block, got, [old, new])}")
                continue
            want = gens.get(block, 0)
            if got != content(block, want):
                errors.append(f"block {block}: flushed generation {want} lost, found "
                              f"{describe(block, got, [want])}")
    state["gen"] = {str(k): v for k, v in gens.items() if v != 0}
    state["pending"] = {}
    return errors


def runs_of(rng, blocks):
    """Split a set of block numbers into contiguous runs (1..16 blocks) where they happen to be
    adjacent, so some requests span several blocks and can be torn at a block boundary."""
    runs, current = [], []
    for b in sorted(blocks):
        if current and b == current[-1] + 1 and len(current) < rng.randint(1, 16):
            current.append(b)
        else:
            if current:
                runs.append(current)
            current = [b]
    if current:
        runs.append(current)
    return runs


def pick_blocks(rng, count):
    # Clusters of adjacent blocks plus scattered ones.
    chosen = set()
    while len(chosen) < count:
        start = rng.randrange(REGION_BLOCKS)
        for b in range(start, min(REGION_BLOCKS, start + rng.choice([1, 1, 2, 4, 8, 16]))):
            chosen.add(b)
    return chosen


def main():
    uri, state_path, cycle, pid = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(cycle * 7919 + 17)
    state = load_state(state_path)
    h = nbd.NBD()
    h.connect_uri(uri)

    errors = verify(h, state)
    if errors:
        for e in errors[:20]:
            print("  " + e, file=sys.stderr)
        sys.exit(f"cycle {cycle}: {len(errors)} bad blocks after restart")
    save_state(state_path, state)
    print(f"cycle {cycle}: verified {len(state['gen'])} written blocks")
    if pid == 0:
        return

    gen_base = cycle * 1_000_000
    gens = state["gen"]

    # Phase 1: writes that a FLUSH makes durable.
    flushed = pick_blocks(rng, FLUSHED_BLOCKS)
    for run in runs_of(rng, flushed):
        h.pwrite(b"".join(content(b, gen_base + b) for b in run), run[0] * BLOCK)
    h.flush()
    for b in flushed:
        gens[str(b)] = gen_base + b
    # One run with FUA: durable on its own reply.
    fua_start = rng.randrange(REGION_BLOCKS - 4)
    fua_run = list(range(fua_start, fua_start + 4))
    h.pwrite(b"".join(content(b, gen_base + 500_000 + b) for b in fua_run), fua_start * BLOCK,
             nbd.CMD_FLAG_FUA)
    for b in fua_run:
        gens[str(b)] = gen_base + 500_000 + b
    save_state(state_path, state)

    # Phase 2: pipelined writes with no flush, then the kill at a random point.
    pending_blocks = pick_blocks(rng, PENDING_BLOCKS)
    runs = runs_of(rng, pending_blocks)
    state["pending"] = {str(b): [gens.get(str(b), 0), gen_base + 700_000 + b] for b in pending_blocks}
    save_state(state_path, state)
    kill_after = rng.randint(0, len(runs))
    for i, run in enumerate(runs):
        if i == kill_after:
            break
        h.aio_pwrite(b"".join(content(b, gen_base + 700_000 + b) for b in run), run[0] * BLOCK)
        h.poll(0)
    if kill_after == len(runs):
        deadline = time.monotonic() + 30
        while h.aio_in_flight() > 0 and time.monotonic() < deadline:
            h.poll(1000)
    else:
        h.poll(0)
    os.kill(pid, signal.SIGKILL)
    print(f"cycle {cycle}: flushed {len(flushed)}+{len(fua_run)} blocks, "
          f"killed after issuing {kill_after} of {len(runs)} unflushed runs")


if __name__ == "__main__":
    main()
