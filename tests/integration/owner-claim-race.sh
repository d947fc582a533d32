#!/usr/bin/env bash
# Two daemons with different data dirs start on the same volume at the same moment (two hosts
# after a failover, both told to take over). The ownership record is replaced only by put-if-
# match against the version each read, so exactly one of them serves and the other exits with a
# clear message; neither overwrites the other's claim.
#   1. (every backend) The volume was released by a clean shutdown; two plain `run`s race for it,
#      several rounds: each round exactly one serves and writes, the other is refused naming it.
#   2. (file backend) The owner was killed -9, so its record is still active; two
#      `run --take-over` race for it. To make them really meet, the test holds an flock on the
#      record's file (the lock the file backend's put-if-match takes) until both daemons wait on
#      it: both have read the same version, exactly one replaces it, the other is refused as
#      having lost the race ("claimed it at the same moment"), and the record names the winner.
# Run on RGW too as s3-owner-claim-race (BP_TEST_BACKEND=s3).
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe
require_cmd qemu-io nbdinfo

ROUNDS=${BP_RACE_ROUNDS:-3}
backend=${BP_TEST_BACKEND:-file}

start_blockpipe
timeout 120 qemu-io -f raw -t writeback -c 'write -P 0x11 0 64k' -c 'flush' "$(bp_uri_unix)" >/dev/null ||
  fail "the first daemon could not write and flush"
stop_blockpipe  # a clean shutdown releases the volume

objects_url=${BP_BACKEND_URL:-file://$BP_DIR/objects}
endpoint_args=()
[[ -n ${BP_BACKEND_ENDPOINT:-} ]] && endpoint_args=(--endpoint "$BP_BACKEND_ENDPOINT")
for d in a b; do
  "$BLOCKPIPE" init --data-dir "$BP_TMP/$d" --port "$(free_port)" --url "$objects_url" \
    "${endpoint_args[@]}" >/dev/null || fail "init of data dir $d failed"
done

# race ARGS...: start both daemons at once; sets winner/loser (a or b) once one serves and the
# other has exited, or fails.
race() {
  local d
  for d in a b; do
    rm -f "$BP_TMP/$d.log"
    "$BLOCKPIPE" run --config "$BP_TMP/$d/blockpipe.toml" "$@" >"$BP_TMP/$d.log" 2>&1 &
    eval "pid_$d=\$!"
    register_pid "$(eval echo "\$pid_$d")"
  done
  settle
}

# settle: wait (bounded) until each daemon either serves or has exited.
settle() {
  local deadline=$((SECONDS + 120)) d pid serving exited
  while :; do
    serving=() exited=()
    for d in a b; do
      pid=$(eval echo "\$pid_$d")
      if ! kill -0 "$pid" 2>/dev/null; then
        exited+=("$d")
      elif nbdinfo --can write "nbd+unix:///default?socket=$BP_TMP/$d/nbd.sock" 2>/dev/null; then
        serving+=("$d")
      fi
    done
    ((${#serving[@]} + ${#exited[@]} == 2)) && break
    ((SECONDS < deadline)) || { tail -n 20 "$BP_TMP"/a.log "$BP_TMP"/b.log; fail "the daemons did not settle within 120s"; }
    sleep 0.2
  done
  ((${#serving[@]} == 1)) ||
    { tail -n 20 "$BP_TMP"/a.log "$BP_TMP"/b.log; fail "${#serving[@]} daemons serve the volume (serving: ${serving[*]}; exited: ${exited[*]})"; }
  winner=${serving[0]}
  loser=${exited[0]}
  local rc=0
  wait "$(eval echo "\$pid_$loser")" || rc=$?
  ((rc != 0)) || fail "daemon $loser exited 0 instead of refusing"
  grep -qF "volume default is in use by another blockpipe daemon" "$BP_TMP/$loser.log" ||
    { cat "$BP_TMP/$loser.log"; fail "daemon $loser's refusal does not say the volume is in use"; }
  grep -qF "data dir id $(cat "$BP_TMP/$winner/writer-id")" "$BP_TMP/$loser.log" ||
    { cat "$BP_TMP/$loser.log"; fail "daemon $loser's refusal does not name the winner"; }
}

for ((round = 1; round <= ROUNDS; round++)); do
  race
  timeout 120 qemu-io -f raw -t writeback -c "write -P 0x2$round 0 64k" -c 'flush' \
    "nbd+unix:///default?socket=$BP_TMP/$winner/nbd.sock" >/dev/null ||
    fail "round $round: the winner ($winner) could not write and flush"
  log "claim race round $round: $winner serves, $loser refused"
  stop_pid "$(eval echo "\$pid_$winner")" 60  # SIGTERM: releases for the next round
done

[[ $backend == file ]] || { log "claim races: exactly one daemon served in each of $ROUNDS rounds"; exit 0; }

# 2. Take-over race behind a held lock. The owner, a third data dir, dies without releasing.
bp_run
kill -KILL "$BP_PID"
wait_pid_gone "$BP_PID" 30 || fail "the owner did not die"
owner_file=$BP_DIR/objects/volumes/default/owner
[[ -f $owner_file ]] || fail "no ownership record at $owner_file"
inode=$(stat -c %i "$owner_file")
lock_ready=$BP_TMP/lock.ready
release=$BP_TMP/lock.release
"$PY" - "$owner_file" "$lock_ready" "$release" <<'PYEOF' &
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
deadline = time.time() + 120
while not os.path.exists(sys.argv[3]) and time.time() < deadline:
    time.sleep(0.05)
PYEOF
locker=$!
register_pid "$locker"
wait_until 30 "the test's lock on the record" test -f "$lock_ready" || fail "could not lock the record"

for d in a b; do
  rm -f "$BP_TMP/$d.log"
  "$BLOCKPIPE" run --config "$BP_TMP/$d/blockpipe.toml" --take-over default >"$BP_TMP/$d.log" 2>&1 &
  eval "pid_$d=\$!"
  register_pid "$(eval echo "\$pid_$d")"
done
# Both daemons have read the record and now wait for the lock to replace it.
waiters() { grep -c -- "-> FLOCK .*:$inode " /proc/locks || true; }
two_waiting() { (($(waiters) >= 2)); }
wait_until 120 "both daemons waiting on the record's lock" two_waiting || { tail -n 20 "$BP_TMP"/a.log "$BP_TMP"/b.log; fail "the daemons never both waited to replace the record ($(waiters) waiting)"; }
touch "$release"
wait "$locker" 2>/dev/null || true
settle
grep -qF "claimed it at the same moment" "$BP_TMP/$loser.log" ||
  { cat "$BP_TMP/$loser.log"; fail "the loser of the take-over race does not say it lost a race"; }
grep -q "taken over from" "$BP_TMP/$winner.log" || fail "the winner did not log the take-over"
timeout 120 qemu-io -f raw -t writeback -c 'write -P 0x33 0 64k' -c 'flush' -c 'read -P 0x33 0 64k' \
  "nbd+unix:///default?socket=$BP_TMP/$winner/nbd.sock" >/dev/null ||
  fail "the take-over winner could not write, flush and read back"
stop_pid "$(eval echo "\$pid_$winner")" 60
log "claim races: one daemon per round; take-over race behind the lock: $winner won, $loser refused"
