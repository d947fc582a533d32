#!/usr/bin/env bash
# `blockpipe change-password` on four encrypted volumes:
#  1. refused while the daemon runs (it holds the data dir's lock), and from a config with
#     another data dir too (the volumes' ownership records name the running daemon), the
#     store untouched;
#  2. with the daemon stopped, every volume gets the new password; only the `meta` objects
#     change (no segment or checkpoint is rewritten); the old password then stops `blockpipe
#     run` like any wrong password, the new one serves every byte that was written;
#  3. a second change is killed with kill -9 right after the first volume's metadata was
#     replaced: every volume then opens with exactly one of the two passwords (checked with
#     fsck, which opens the chain and authenticates every unit), some with each, and running
#     the same command again skips the volumes already done and finishes the rest;
#  4. a wrong current password, an empty new password and an unknown volume are refused.
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe

P1='first password, long enough'
P2='second password, also long'
P3='third password for the kill test'
export BLOCKPIPE_PASSWORD=$P1
VOLUMES=(default v2 v3 v4)

bp_init
"$BLOCKPIPE" init --data-dir "$BP_DIR" --port "$BP_PORT" --encrypt --force >>"$BP_LOG" 2>&1 ||
  fail "blockpipe init --encrypt failed"
bp_config_sed 's/^kdf = "moderate"$/kdf = "interactive"/'
bp_run
for i in 1 2 3; do
  bp_volume create "v$((i + 1))" --size 64MiB >/dev/null || fail "volume create v$((i + 1)) failed"
done
for i in "${!VOLUMES[@]}"; do
  timeout 120 "$PY" "$BP_LIB_DIR/pattern_io.py" write "$(bp_uri_unix "${VOLUMES[$i]}")" $((i + 1)) 40 ||
    fail "pattern write to ${VOLUMES[$i]} failed"
done

change_password() { # NEW_PASSWORD [ARGS...]: runs with the config's current password
  local new=$1
  shift
  printf '%s' "$new" | timeout 120 "$BLOCKPIPE" change-password --config "$BP_CONFIG" "$@"
}
snapshot() { (cd "$BP_DIR/objects" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
data_objects() { snapshot | grep -v '/meta$'; }

# ---- 1. refused while the daemon runs ---------------------------------------------------------
before=$(snapshot)
rc=0
change_password "$P2" >"$BP_TMP/busy.out" 2>&1 || rc=$?
((rc != 0)) || fail "change-password ran while the daemon was serving"
grep -q 'stop it first' "$BP_TMP/busy.out" || fail "the refusal does not say why: $(cat "$BP_TMP/busy.out")"
[[ $(snapshot) == "$before" ]] || fail "the store changed during a refused change-password"
log "refused while the daemon runs: $(head -n 1 "$BP_TMP/busy.out")"
# A config with another data dir and control socket on the same store stands for a daemon
# elsewhere: no lock or socket to see, but the volumes' ownership records name the running one.
mkdir -p "$BP_TMP/elsewhere"
sed -e "s|^data_dir = .*|data_dir = \"$BP_TMP/elsewhere\"|" \
  -e "s|^control_socket = .*|control_socket = \"$BP_TMP/elsewhere/control.sock\"|" "$BP_CONFIG" >"$BP_TMP/elsewhere.toml"
grep -q "^data_dir = \"$BP_TMP/elsewhere\"" "$BP_TMP/elsewhere.toml" || fail "could not write the second config"
rc=0
printf '%s' "$P2" | timeout 120 "$BLOCKPIPE" change-password --config "$BP_TMP/elsewhere.toml" >"$BP_TMP/owned.out" 2>&1 || rc=$?
((rc != 0)) || fail "change-password from another data dir ran while the daemon was serving"
grep -q 'volume default is open for writing by another daemon (host ' "$BP_TMP/owned.out" ||
  fail "the refusal does not name the owning daemon: $(cat "$BP_TMP/owned.out")"
grep -q '^0 changed' "$BP_TMP/owned.out" || fail "some volume changed: $(cat "$BP_TMP/owned.out")"
[[ $(snapshot) == "$before" ]] || fail "the store changed during a refused change-password"
log "refused from another data dir too: $(grep -m1 'open for writing' "$BP_TMP/owned.out" | cut -c1-200)"
stop_blockpipe

# ---- 2. change every volume -------------------------------------------------------------------
data_before=$(data_objects)
printf '%s\n' "$P2" >"$BP_TMP/new-password"
chmod 600 "$BP_TMP/new-password"
timeout 120 "$BLOCKPIPE" change-password --config "$BP_CONFIG" --new-password-file "$BP_TMP/new-password" \
  >"$BP_TMP/change.out" 2>&1 || fail "change-password failed: $(cat "$BP_TMP/change.out")"
for v in "${VOLUMES[@]}"; do
  grep -q "^volume $v: password changed$" "$BP_TMP/change.out" || fail "volume $v not reported changed: $(cat "$BP_TMP/change.out")"
done
grep -q '^4 changed, 0 already' "$BP_TMP/change.out" || fail "unexpected summary: $(tail -n 2 "$BP_TMP/change.out")"
if grep -qF -e "$P1" -e "$P2" "$BP_TMP/change.out"; then fail "a password appears in the output"; fi
[[ $(data_objects) == "$data_before" ]] || fail "segments or checkpoints were rewritten"
log "every volume changed; only the meta objects differ"

rc=0
timeout 60 "$BLOCKPIPE" run --config "$BP_CONFIG" >"$BP_TMP/old.log" 2>&1 || rc=$?
cat "$BP_TMP/old.log" >>"$BP_LOG"
((rc != 0 && rc != 124)) || fail "the daemon started with the old password (status $rc)"
grep -q 'wrong password for volume' "$BP_TMP/old.log" || fail "the old password is not refused as wrong: $(tail -n 3 "$BP_TMP/old.log")"
log "the old password is refused"

export BLOCKPIPE_PASSWORD=$P2
bp_run
for i in "${!VOLUMES[@]}"; do
  timeout 120 "$PY" "$BP_LIB_DIR/pattern_io.py" verify "$(bp_uri_unix "${VOLUMES[$i]}")" $((i + 1)) 40 ||
    fail "${VOLUMES[$i]} lost data after the change"
done
stop_blockpipe
log "the new password serves every volume with its data intact"

# ---- 3. kill -9 right after the first metadata replacement -----------------------------------
"$PY" - "$BLOCKPIPE" "$BP_CONFIG" "$BP_DIR/objects/volumes" "$P3" "${VOLUMES[@]}" <<'PYEOF' ||
import hashlib, os, signal, subprocess, sys, time
blockpipe, config, voldir, new_password, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
def metas():
    out = {}
    for n in names:
        with open(os.path.join(voldir, n, "meta"), "rb") as f:
            out[n] = hashlib.sha256(f.read()).hexdigest()
    return out
before = metas()
p = subprocess.Popen([blockpipe, "change-password", "--config", config], stdin=subprocess.PIPE,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
p.stdin.write(new_password.encode())
p.stdin.close()
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    now = metas()
    if now != before:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        changed = [n for n in names if now[n] != before[n]]
        print("killed after", ",".join(changed), file=sys.stderr)
        sys.exit(0)
    if p.poll() is not None:
        sys.exit("change-password exited (status %d) before any metadata changed" % p.returncode)
    time.sleep(0.002)
p.kill()
sys.exit("no metadata changed within 60s")
PYEOF
  fail "the interrupted change-password did not go as planned"

# fsck opens the chain with the config's password and authenticates every unit.
opens_with() { BLOCKPIPE_PASSWORD=$2 timeout 120 "$BLOCKPIPE" fsck --config "$BP_CONFIG" --volume "$1" >>"$BP_TMP/fsck.out" 2>&1; }
on_old=0 on_new=0
for v in "${VOLUMES[@]}"; do
  old=0 new=0
  opens_with "$v" "$P2" && old=1
  opens_with "$v" "$P3" && new=1
  ((old + new == 1)) || fail "volume $v opens with $((old + new)) of the two passwords after the kill"
  ((on_old += old, on_new += new))
done
((on_old >= 1 && on_new >= 1)) || fail "the kill did not land mid-way ($on_new on the new password, $on_old on the old)"
log "after kill -9: $on_new volume(s) on the new password, $on_old on the old, each with exactly one"

change_password "$P3" >"$BP_TMP/rerun.out" 2>&1 || fail "re-running change-password failed: $(cat "$BP_TMP/rerun.out")"
grep -q "^$on_old changed, $on_new already on the new password" "$BP_TMP/rerun.out" ||
  fail "the re-run did not skip the finished volumes: $(cat "$BP_TMP/rerun.out")"
export BLOCKPIPE_PASSWORD=$P3
bp_run
for i in "${!VOLUMES[@]}"; do
  timeout 120 "$PY" "$BP_LIB_DIR/pattern_io.py" verify "$(bp_uri_unix "${VOLUMES[$i]}")" $((i + 1)) 40 ||
    fail "${VOLUMES[$i]} lost data after the interrupted change"
done
stop_blockpipe
log "the re-run finished the change; every volume opens with the new password, data intact"

# ---- 4. refusals ------------------------------------------------------------------------------
before=$(snapshot)
rc=0
BLOCKPIPE_PASSWORD='not the password' change_password "$P1" >"$BP_TMP/wrong.out" 2>&1 || rc=$?
((rc != 0)) || fail "a wrong current password was accepted"
grep -q 'wrong password for volume default' "$BP_TMP/wrong.out" || fail "wrong password not named: $(cat "$BP_TMP/wrong.out")"
rc=0
printf '\n' | timeout 60 "$BLOCKPIPE" change-password --config "$BP_CONFIG" >"$BP_TMP/empty.out" 2>&1 || rc=$?
((rc != 0)) && grep -q 'empty' "$BP_TMP/empty.out" || fail "an empty new password was not refused: $(cat "$BP_TMP/empty.out")"
rc=0
change_password "$P1" --volume nosuch >"$BP_TMP/nosuch.out" 2>&1 || rc=$?
((rc != 0)) && grep -q 'volume nosuch does not exist' "$BP_TMP/nosuch.out" ||
  fail "an unknown volume was not refused: $(cat "$BP_TMP/nosuch.out")"
[[ $(snapshot) == "$before" ]] || fail "a refused change-password modified the store"
log "wrong current password, empty new password and unknown volume refused, store untouched"

# ---- 5. typed on a terminal: prompted twice, never echoed -------------------------------------
# pty_change NEW REPEAT: run change-password on a pseudo-terminal, answer both prompts; prints
# everything the terminal showed and exits with the command's status.
pty_change() {
  timeout 120 "$PY" - "$BLOCKPIPE" "$BP_CONFIG" "$1" "$2" <<'PYEOF'
import os, pty, select, signal, sys, time
blockpipe, config, first, second = sys.argv[1:5]
pid, fd = pty.fork()
if pid == 0:
    os.execv(blockpipe, [blockpipe, "change-password", "--config", config, "--volume", "default"])
shown = b""
def read_until(marker, seconds=60):
    """Collect terminal output until marker shows (None: until the command closes it)."""
    global shown
    deadline = time.monotonic() + seconds
    while marker is None or marker not in shown:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            sys.exit("waited %ds for %r; the terminal showed: %r" % (seconds, marker, shown))
        if not select.select([fd], [], [], 0.5)[0]:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b""
        if not chunk:
            if marker is None:
                return
            sys.exit("the command ended before prompting %r: %r" % (marker, shown))
        shown += chunk
read_until(b"New password: ")
os.write(fd, first.encode() + b"\n")
read_until(b"Repeat the new password: ")
os.write(fd, second.encode() + b"\n")
read_until(None)
_, status = os.waitpid(pid, 0)
sys.stdout.write(shown.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
PYEOF
}
P4='typed at the terminal'
rc=0
pty_change "$P4" "$P4 but different" >"$BP_TMP/pty-mismatch.out" 2>&1 || rc=$?
((rc != 0)) && grep -q 'differ' "$BP_TMP/pty-mismatch.out" ||
  fail "two different entries were not refused: $(cat "$BP_TMP/pty-mismatch.out")"
pty_change "$P4" "$P4" >"$BP_TMP/pty.out" 2>&1 || fail "change-password on a terminal failed: $(cat "$BP_TMP/pty.out")"
grep -q '^volume default: password changed' "$BP_TMP/pty.out" || fail "not changed: $(cat "$BP_TMP/pty.out")"
grep -qF "$P4" "$BP_TMP/pty.out" "$BP_TMP/pty-mismatch.out" && fail "the typed password was echoed"
BLOCKPIPE_PASSWORD=$P4 timeout 120 "$BLOCKPIPE" fsck --config "$BP_CONFIG" --volume default >>"$BP_TMP/fsck.out" 2>&1 ||
  fail "volume default does not open with the password typed at the terminal"
log "on a terminal: prompted twice without echo, a mismatch refused, the typed password works"
