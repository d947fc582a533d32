"""One cycle of the snapshot crash test: kill -9 while a snapshot is taken, deleted or restored.

A cycle first verifies the volume and every snapshot against the state file the earlier cycles
left, resolving the operation the previous kill interrupted:
  - snapshot create X: X exists and reads exactly as the volume did when the command was sent
    (every write flushed before it), or X does not exist;
  - snapshot delete X: X is gone, or it still reads exactly as created;
  - snapshot restore X: the volume reads exactly as X, or exactly as before the command — never
    a mix.
Every block of the region must match the model of what was flushed (no flushed write lost), and
every surviving snapshot must read exactly as it was created. Then it writes and FLUSHes random
blocks, disconnects, sends the cycle's operation over the control socket without waiting for
the answer, and SIGKILLs the daemon after a random delay (maybe before the daemon read the
request, maybe after it answered). Block contents derive from (block, generation), so the state
holds only generation numbers.

usage: snapshot_crash.py NBD_SOCKET CONTROL_SOCKET STATE_FILE CYCLE DAEMON_PID  (PID 0: verify)
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
REGION_BLOCKS = 2048  # the first 8 MiB of the volume
WRITES = 96           # blocks written and flushed per cycle
VOLUME = "default"


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
    sys.exit(f"snapshot crash cycle: {msg}")


def verify(nbd_sock, ctl, state):
    listed = control(ctl, {"op": "snapshot.list", "name": VOLUME})
    if not listed.get("ok"):
        fail(f"snapshot.list failed: {listed}")
    present = {s["name"] for s in listed["snapshots"]}
    pending = state.pop("pending", None)
    volume = read_region(nbd_sock, VOLUME)
    if pending:
        kind, name = pending["op"], pending["name"]
        if kind == "create" and name in present:
            state["snapshots"][name] = pending["model"]
        elif kind == "delete" and name not in present:
            state["snapshots"].pop(name, None)
        elif kind == "restore":
            was_restored, _ = matches(volume, state["snapshots"][name])
            unchanged, _ = matches(volume, state["model"])
            if was_restored and not unchanged:
                state["model"] = dict(state["snapshots"][name])
                print(f"  restore {name} happened")
            elif not unchanged:
                fail(f"after a kill during restore of {name} the volume is neither the snapshot "
                     "nor what it was")
            else:
                print(f"  restore {name} did not happen")
        print(f"  pending {kind} {name}: {'present' if name in present else 'absent'} after restart")
    ok, block = matches(volume, state["model"])
    if not ok:
        fail(f"volume block {block} lost a flushed write")
    if set(state["snapshots"]) != present:
        fail(f"snapshots {sorted(present)} listed, expected {sorted(state['snapshots'])}")
    for name, model in state["snapshots"].items():
        ok, block = matches(read_region(nbd_sock, f"{VOLUME}@{name}"), model)
        if not ok:
            fail(f"snapshot {name} block {block} changed")


def main():
    nbd_sock, ctl, path, cycle, pid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    state = {"model": {}, "snapshots": {}}
    if os.path.exists(path):
        with open(path) as f:
            state = json.load(f)
    verify(nbd_sock, ctl, state)
    if pid == 0:
        with open(path, "w") as f:
            json.dump(state, f)
        print(f"verified: {len(state['snapshots'])} snapshot(s)")
        return
    rng = random.Random(cycle)
    h = nbd.NBD()
    h.connect_uri(uri(nbd_sock, VOLUME))
    for b in rng.sample(range(REGION_BLOCKS), WRITES):
        h.pwrite(content(b, cycle), b * BLOCK)
        state["model"][str(b)] = cycle
    h.flush()
    h.shutdown()  # restore needs no client connected
    snapshots = sorted(state["snapshots"])
    choice = rng.random()
    if not snapshots or choice < 0.45:
        op = {"op": "snapshot.create", "name": VOLUME, "snapshot": f"s{cycle}"}
        state["pending"] = {"op": "create", "name": f"s{cycle}", "model": dict(state["model"])}
    elif choice < 0.7 and len(snapshots) > 1:
        victim = rng.choice(snapshots)
        op = {"op": "snapshot.delete", "name": VOLUME, "snapshot": victim}
        state["pending"] = {"op": "delete", "name": victim}
    else:
        target = rng.choice(snapshots)
        op = {"op": "snapshot.restore", "name": VOLUME, "snapshot": target}
        state["pending"] = {"op": "restore", "name": target}
    with open(path, "w") as f:
        json.dump(state, f)  # before the kill: the next cycle resolves the pending op
    delay = rng.choice([0.0, 0.002, 0.005, 0.01, 0.02, 0.05, 0.2])
    s = control(ctl, op, wait=False)
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)
    s.close()
    print(f"cycle {cycle}: {op['op']} {op['snapshot']} killed after {delay * 1000:.0f} ms")


main()
