#!/usr/bin/env bash
# Data written without any FLUSH is still there after a clean SIGTERM shutdown and restart, on
# the default volume and on one created at runtime, across several restarts that each add data;
# the runtime-created volume is still listed with its size after every restart.
source "$(dirname "$0")/../lib/common.sh"

pattern() { timeout 120 "$PY" "$BP_LIB_DIR/pattern_io.py" "$@"; }

start_blockpipe
bp_volume create extra --size 128MiB || fail "volume create extra failed"

for round in 1 2 3; do
  pattern write "$(bp_uri_unix)" "$round" 200 || fail "write set $round to default failed"
  pattern write "$(bp_uri_unix extra)" "$round" 200 || fail "write set $round to extra failed"
  restart_blockpipe
  [[ $(nbdinfo --size "$(bp_uri_unix extra)") == 134217728 ]] ||
    fail "volume extra missing or resized after restart $round"
  for ((set = 1; set <= round; set++)); do
    pattern verify "$(bp_uri_unix)" "$set" 200 || fail "default: set $set lost after restart $round"
    pattern verify "$(bp_uri_unix extra)" "$set" 200 || fail "extra: set $set lost after restart $round"
  done
done
log "unflushed writes survived three clean restarts on both volumes"
