#!/usr/bin/env bash
# Runs the protocol-level tests in tests/nbd/nbd_*.py (python3-libnbd and raw sockets: pipelining,
# bounds errors, FAST_ZERO, malformed traffic, concurrent connections …) against the real daemon.
# Each script runs four times — over the Unix socket and over TCP, each with structured replies
# on and off (BP_NBD_STRUCTURED=1/0, honoured by nbdtest.connect) — each time on a fresh, empty
# volume of its own (1 GiB; 8 GiB for nbd_extended's 64-bit lengths), as
#     /usr/bin/python3 tests/nbd/nbd_NAME.py URI [extra arguments, see extra_args]
# with BP_NBD_UNIX_URI and BP_NBD_TCP_URI also set for scripts that want both transports.
# A script exits 0 on success, 77 to skip (reported, never counted as a pass) and anything else on
# failure. All scripts run even after one fails; the test fails if any did.
# BP_NBD_SCRIPTS="nbd_pipelined nbd_multiconn" runs only the scripts named (the nbd-concurrency
# test of ThreadSanitizer builds).
source "$(dirname "$0")/../lib/common.sh"

shopt -s nullglob
scripts=("$SOURCE_DIR"/tests/nbd/nbd_*.py)
if [[ -n ${BP_NBD_SCRIPTS:-} ]]; then
  scripts=()
  for name in $BP_NBD_SCRIPTS; do
    [[ -f $SOURCE_DIR/tests/nbd/$name.py ]] || fail "BP_NBD_SCRIPTS: no tests/nbd/$name.py"
    scripts+=("$SOURCE_DIR/tests/nbd/$name.py")
  done
fi
((${#scripts[@]} > 0)) || fail "no protocol tests found in $SOURCE_DIR/tests/nbd"

# Arguments a script needs besides the URI.
extra_args() {
  case $1 in
    nbd_exports)  # the exact set of volumes the daemon serves right now
      echo --expect
      bp_volume list --json | "$PY" -c 'import json, sys
print(",".join(v["name"] for v in json.load(sys.stdin)))'
      ;;
    nbd_extended) echo --expect-large ;;  # its volume is over 4 GiB: see volume_size
  esac
}

# The size of a script's volume: 1 GiB, or more for 64-bit lengths (volumes are sparse, so an
# 8 GiB volume costs nothing until written).
volume_size() {
  case $1 in
    nbd_extended) echo 8GiB ;;
    *) echo 1GiB ;;
  esac
}

start_blockpipe
failed=() skipped=() passed=0 n=0
for script in "${scripts[@]}"; do
  name=$(basename "${script%.py}")
  for run in unix:1 tcp:1 unix:0 tcp:0; do
    transport=${run%:*}
    export BP_NBD_STRUCTURED=${run#*:}
    label="$transport, structured replies $([[ $BP_NBD_STRUCTURED == 1 ]] && echo on || echo off)"
    n=$((n + 1))
    volume=p$n
    bp_volume create "$volume" --size "$(volume_size "$name")" >/dev/null ||
      fail "could not create volume $volume"
    export BP_NBD_UNIX_URI BP_NBD_TCP_URI
    BP_NBD_UNIX_URI=$(bp_uri_unix "$volume")
    BP_NBD_TCP_URI=$(bp_uri_tcp "$volume")
    uri=$BP_NBD_UNIX_URI
    [[ $transport == tcp ]] && uri=$BP_NBD_TCP_URI
    mapfile -t args < <(extra_args "$name")
    rc=0
    out=$BP_TMP/$name.$transport.$BP_NBD_STRUCTURED.out
    timeout 180 "$PY" "$script" "$uri" "${args[@]}" >"$out" 2>&1 || rc=$?
    case $rc in
      0) passed=$((passed + 1)); log "pass: $name ($label)" ;;
      77) skipped+=("$name ($label)"); log "skip: $name ($label): $(tail -n 1 "$out")" ;;
      *)
        failed+=("$name ($label)")
        echo "---- $name ($label) exited with status $rc ----" >&2
        tail -n 40 "$out" >&2
        ;;
    esac
    kill -0 "$BP_PID" 2>/dev/null || fail "the daemon died during $name ($label)"
  done
done

log "$passed passed, ${#skipped[@]} skipped, ${#failed[@]} failed of $n runs"
((${#failed[@]} == 0)) || fail "failed: ${failed[*]}"
((passed > 0)) || skip "every protocol test skipped itself: ${skipped[*]}"
