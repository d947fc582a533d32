"""One cycle of the lifecycle crash test: kill -9 while garbage collection runs and a snapshot is
taken, deleted or restored, or a clone is made or deleted.

A cycle first verifies the volume, every snapshot and every clone against the state file the
earlier cycles left, resolving the operation the previous kill interrupted:
  - snapshot create X: X exists and reads exactly as the volume did when the command was sent
    (every write flushed before it), or X does not exist;
  - snapshot delete X: X is gone, or it still reads exactly as created;
  - snapshot restore X: the volume reads exactly as X, or exactly as before the command — never
    a mix;
  - volume clone V@X C: C exists and reads exactly as X, or C does not exist;
  - volume delete C (a clone): C is gone, or it still reads exactly as before.
Every block of the region must match the model of what was flushed (no flushed write lost), and
every surviving snapshot and clone must read exactly as its model.

Then it overwrites and FLUSHes random blocks of the volume and of every clone (garbage for the
collector: the daemon runs with eager collection and small segments), asks the daemon for a
collection pass on every volume, disconnects, sends the cycle's operation over the control
socket without waiting for the answer, and SIGKILLs the daemon after a random delay (maybe
before the daemon read the request, maybe while the collector relocates blocks or deletes the
segments it emptied, maybe after the operation answered). Block contents derive from
(block, generation), so the state holds only generation numbers; a clone's own writes use
generations the volume never writes, so a write leaking from one to the other is seen.

With `--settle`, after the verification: one `gc --wait`-like pass on every volume (requested,
then polled until done), and every volume, snapshot and clone is verified again, so a pass that
runs to its end with the snapshots and clones in place is checked too.

usage: snapshot_crash.py NBD_SOCKET CONTROL_SOCKET STATE_FILE CYCLE DAEMON_PID [--settle]
       (DAEMON_PID 0: verify only)
"""
import json
import os
import random
import signal
import socket
import sys
import time

import nbd

BLOCK = 4096
REGION_BLOCKS = 2048  # the first 8 MiB of each volume
WRITES = 256          # blocks of the volume overwritten and flushed per cycle
CLONE_WRITES = 48     # blocks of each clone overwritten and flushed per cycle
MAX_CLONES = 3
VOLUME = "default"
CLONE_GEN = 100000    # clone writes use generations CLONE_GEN + 100 * cycle + clone number


def content(block, gen):
    if gen == 0:
        return bytes(BLOCK)
    return random.Random(f"{block}:{gen}").randbytes(BLOCK)


def control(path, request, wait=True):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall((json.dumps(request) + "\n").encode())
    if not wait:
        return s  # the caller keeps it open until the kill
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return json.loads(data)


def uri(sock, export):
    return f"nbd+unix:///{export}?socket={sock}"


def read_region(sock, export):
    h = nbd.NBD()
    h.connect_uri(uri(sock, export))
    data = h.pread(REGION_BLOCKS * BLOCK, 0)
    h.shutdown()
    return data


def matches(data, model):
    for b in range(REGION_BLOCKS):
        if data[b * BLOCK:(b + 1) * BLOCK] != content(b, model.get(str(b), 0)):
            return False, b
    return True, None


def fail(msg):
    sys.exit(f"lifecycle crash cycle: {msg}")


def volumes(ctl):
    listed = control(ctl, {"op": "volume.list"})
    if not listed.get("ok"):
        fail(f"volume.list failed: {listed}")
    return {v["name"]: v for v in listed["volumes"]}


def resolve_pending(state, pending, present_snapshots, present_volumes, volume_data):
    kind, name = pending["op"], pending["name"]
    if kind == "create" and name in present_snapshots:
        state["snapshots"][name] = pending["model"]
    elif kind == "delete" and name not in present_snapshots:
        state["snapshots"].pop(name, None)
    elif kind == "restore":
        was_restored, _ = matches(volume_data, state["snapshots"][name])
        unchanged, _ = matches(volume_data, state["model"])
        if was_restored and not unchanged:
            state["model"] = dict(state["snapshots"][name])
            print(f"  restore {name} happened")
        elif not unchanged:
            fail(f"after a kill during restore of {name} the volume is neither the snapshot "
                 "nor what it was")
        else:
            print(f"  restore {name} did not happen")
    elif kind == "clone" and name in present_volumes:
        state["clones"][name] = pending["model"]
    elif kind == "clone-delete" and name not in present_volumes:
        state["clones"].pop(name, None)
    present = name in (present_snapshots if kind in ("create", "delete", "restore")
                       else present_volumes)
    print(f"  pending {kind} {name}: {'present' if present else 'absent'} after restart")


def verify(nbd_sock, ctl, state):
    listed = control(ctl, {"op": "snapshot.list", "name": VOLUME})
    if not listed.get("ok"):
        fail(f"snapshot.list failed: {listed}")
    present_snapshots = {s["name"] for s in listed["snapshots"]}
    present_volumes = set(volumes(ctl))
    volume_data = read_region(nbd_sock, VOLUME)
    pending = state.pop("pending", None)
    if pending:
        resolve_pending(state, pending, present_snapshots, present_volumes, volume_data)
    ok, block = matches(volume_data, state["model"])
    if not ok:
        fail(f"volume block {block} lost a flushed write")
    if set(state["snapshots"]) != present_snapshots:
        fail(f"snapshots {sorted(present_snapshots)} listed, expected {sorted(state['snapshots'])}")
    if set(state["clones"]) | {VOLUME} != present_volumes:
        fail(f"volumes {sorted(present_volumes)} listed, expected "
             f"{sorted(set(state['clones']) | {VOLUME})}")
    for name, model in state["snapshots"].items():
        ok, block = matches(read_region(nbd_sock, f"{VOLUME}@{name}"), model)
        if not ok:
            fail(f"snapshot {name} block {block} changed")
    for name, model in state["clones"].items():
        ok, block = matches(read_region(nbd_sock, name), model)
        if not ok:
            fail(f"clone {name} block {block} differs from its snapshot and its own writes")


def settle(ctl, timeout=120):
    """Runs one collection pass on every volume to its end, as `blockpipe gc --wait` does."""
    reply = control(ctl, {"op": "gc"})
    if not reply.get("ok"):
        fail(f"gc request failed: {reply}")
    deadline = time.monotonic() + timeout
    waiting = {p["name"]: p["pass"] for p in reply["passes"]}
    while waiting:
        if time.monotonic() > deadline:
            fail(f"gc passes {waiting} did not finish within {timeout} s")
        listed = volumes(ctl)
        for name in list(waiting):
            if name not in listed or listed[name]["gc"]["passes_done"] >= waiting[name]:
                del waiting[name]
        time.sleep(0.05)
    rewritten = sum(v["gc"]["rewritten_bytes"] for v in volumes(ctl).values())
    print(f"  gc passes done, {rewritten} bytes rewritten since the start")


def write_blocks(sock, export, blocks, gen_of, model):
    h = nbd.NBD()
    h.connect_uri(uri(sock, export))
    for b in blocks:
        gen = gen_of(b)
        h.pwrite(content(b, gen), b * BLOCK)
        model[str(b)] = gen
    h.flush()
    h.shutdown()  # restore and delete need no client connected


def choose_op(rng, state, cycle):
    snapshots = sorted(state["snapshots"])
    clones = sorted(state["clones"])
    choice = rng.random()
    if not snapshots or choice < 0.35:
        name = f"s{cycle}"
        return ({"op": "snapshot.create", "name": VOLUME, "snapshot": name},
                {"op": "create", "name": name, "model": dict(state["model"])})
    if choice < 0.55 and len(snapshots) > 1:
        victim = rng.choice(snapshots)
        return ({"op": "snapshot.delete", "name": VOLUME, "snapshot": victim},
                {"op": "delete", "name": victim})
    if choice < 0.72 and len(clones) < MAX_CLONES:
        base = rng.choice(snapshots)
        name = f"c{cycle}"
        return ({"op": "volume.clone", "name": VOLUME, "snapshot": base, "clone": name},
                {"op": "clone", "name": name, "model": dict(state["snapshots"][base])})
    if choice < 0.8 and clones:
        victim = rng.choice(clones)
        return ({"op": "volume.delete", "name": victim}, {"op": "clone-delete", "name": victim})
    target = rng.choice(snapshots)
    return ({"op": "snapshot.restore", "name": VOLUME, "snapshot": target},
            {"op": "restore", "name": target})


def main():
    nbd_sock, ctl, path, cycle, pid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    state = {"model": {}, "snapshots": {}, "clones": {}}
    if os.path.exists(path):
        with open(path) as f:
            state = json.load(f)
    state.setdefault("clones", {})
    verify(nbd_sock, ctl, state)
    if "--settle" in sys.argv[6:]:
        settle(ctl)
        verify(nbd_sock, ctl, state)
    if pid == 0:
        with open(path, "w") as f:
            json.dump(state, f)
        print(f"verified: {len(state['snapshots'])} snapshot(s), {len(state['clones'])} clone(s); "
              f"gc_moved {state.get('gc_moved', 0)}")
        return
    rng = random.Random(cycle)
    write_blocks(nbd_sock, VOLUME, rng.sample(range(REGION_BLOCKS), WRITES), lambda b: cycle,
                 state["model"])
    for i, name in enumerate(sorted(state["clones"])):
        write_blocks(nbd_sock, name, rng.sample(range(REGION_BLOCKS), CLONE_WRITES),
                     lambda b: CLONE_GEN + 100 * cycle + i, state["clones"][name])
    gc = control(ctl, {"op": "gc"})  # a pass on every volume, running while the op runs
    if not gc.get("ok"):
        fail(f"gc request failed: {gc}")
    # Until the pass has relocated something (or found nothing to), so the op starts while the
    # collector works; the bytes it moved by then count towards the test's proof that it did.
    passes = {p["name"]: p["pass"] for p in gc["passes"]}
    deadline = time.monotonic() + 1.0
    while True:
        listed = volumes(ctl)
        moved = sum(listed[n]["gc"]["rewritten_bytes"] for n in passes if n in listed)
        done = all(n not in listed or listed[n]["gc"]["passes_done"] >= p for n, p in passes.items())
        if moved > 0 or done or time.monotonic() > deadline:
            break
        time.sleep(0.002)
    state["gc_moved"] = state.get("gc_moved", 0) + moved
    op, pending = choose_op(rng, state, cycle)
    state["pending"] = pending
    with open(path, "w") as f:
        json.dump(state, f)  # before the kill: the next cycle resolves the pending op
    delay = rng.choice([0.0, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5])
    s = control(ctl, op, wait=False)
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)
    s.close()
    target = op.get("snapshot", op["name"]) if op["op"] != "volume.clone" else op["clone"]
    print(f"cycle {cycle}: {op['op']} {target} killed after {delay * 1000:.0f} ms "
          f"(gc: {moved} bytes moved when the op was sent)")


main()
