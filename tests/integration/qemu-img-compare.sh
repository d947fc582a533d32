#!/usr/bin/env bash
# A deterministic random mix of writes, write-zeroes and trims (unaligned and aligned, small and
# large, overlapping) is applied both to the export and to a local reference image; `qemu-img
# compare` must then find them identical — right away, after a clean restart, and after a second
# round of ops followed by kill -9 (the round ends with a FLUSH, so all of it must survive).
source "$(dirname "$0")/../lib/common.sh"
require_cmd qemu-img

readonly SEED=${BP_SEED:-20240611}
readonly OPS=${BP_OPS:-3000}
ref=$BP_TMP/reference.img

compare_with_reference() {
  local out rc=0
  out=$(timeout 300 qemu-img compare -f raw -F raw "$ref" "$(bp_uri_unix)" 2>&1) || rc=$?
  ((rc == 0)) || fail "qemu-img compare ($1) status $rc: $out"
  log "identical to the reference ($1)"
}

start_blockpipe
truncate -s "$(nbdinfo --size "$(bp_uri_unix)")" "$ref"

timeout 300 "$PY" "$BP_LIB_DIR/random_writes.py" "$(bp_uri_unix)" "$ref" "$SEED" "$OPS" ||
  fail "random writes (seed $SEED) failed"
compare_with_reference "after the writes"

restart_blockpipe
compare_with_reference "after SIGTERM and restart"

timeout 300 "$PY" "$BP_LIB_DIR/random_writes.py" "$(bp_uri_unix)" "$ref" "$((SEED + 1))" "$OPS" ||
  fail "second round of random writes (seed $((SEED + 1))) failed"
kill9_blockpipe
bp_run
compare_with_reference "after a second round, kill -9 and restart"
