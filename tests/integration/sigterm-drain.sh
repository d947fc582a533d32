#!/usr/bin/env bash
# SIGTERM while four connections have unflushed writes in flight: the daemon must drain — answer
# or cleanly refuse what it has received, seal and upload the buffered writes — and exit 0 within
# the stop timeout. After a restart every acknowledged write is present, although the client
# never sent a FLUSH (tests/lib/drain_writer.py has the details).
source "$(dirname "$0")/../lib/common.sh"

acked=$BP_TMP/acked.json
start_blockpipe
timeout 120 "$PY" "$BP_LIB_DIR/drain_writer.py" write "$(bp_uri_unix)" "$BP_PID" "$acked" ||
  fail "the writer failed"
# The writer already sent SIGTERM (exactly one: a second may legitimately mean "stop now").
wait_blockpipe_exit 0
bp_run
timeout 120 "$PY" "$BP_LIB_DIR/drain_writer.py" verify "$(bp_uri_unix)" "$acked" ||
  fail "acknowledged writes were lost in the SIGTERM shutdown"
