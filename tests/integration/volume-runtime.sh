#!/usr/bin/env bash
# Volumes come and go at runtime through the control socket: a created volume is exported at once
# with its size and takes data; deleting it while a client is connected is refused with a clear
# error and leaves it intact; after the client disconnects the delete succeeds and the export is
# gone. Bad requests (duplicate name, invalid name, bad size) fail cleanly. After a restart the
# created volume is still there and the deleted one is not.
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe
require_cmd nbdinfo

listed_exports() {
  nbdinfo --list --json "nbd+unix:///?socket=$BP_SOCK" |
    "$PY" -c 'import json, sys; print(" ".join(sorted(e["export-name"] for e in json.load(sys.stdin)["exports"])))'
}

# expect_refused DESCRIPTION PATTERN CMD...: the command must fail, saying something that
# matches PATTERN (case-insensitive), without crashing the daemon.
expect_refused() {
  local what=$1 pattern=$2 out rc=0
  shift 2
  out=$("$@" 2>&1) || rc=$?
  ((rc != 0)) || fail "$what: succeeded, expected a refusal. Output: $out"
  ((rc < 128)) || fail "$what: died with signal $((rc - 128)). Output: $out"
  grep -qiE "$pattern" <<<"$out" || fail "$what: message does not match /$pattern/: $out"
  kill -0 "$BP_PID" 2>/dev/null || fail "$what: the daemon died"
  log "refused as expected ($what): $out"
}

start_blockpipe
[[ $(listed_exports) == "default" ]] || fail "fresh daemon lists '$(listed_exports)', expected 'default'"

bp_volume create scratch --size 64MiB || fail "volume create scratch failed"
[[ $(listed_exports) == "default scratch" ]] || fail "after create: '$(listed_exports)'"
[[ $(nbdinfo --size "$(bp_uri_unix scratch)") == 67108864 ]] || fail "scratch has the wrong size"
bp_volume list | grep -q scratch || fail "volume list does not show scratch"

expect_refused "duplicate name" "scratch" bp_volume create scratch --size 64MiB
expect_refused "invalid name" "name" bp_volume create "../escape" --size 64MiB
expect_refused "invalid size" "size" bp_volume create sized --size 12parsecs
expect_refused "unknown volume" "nosuch" bp_volume delete nosuch

# Hold a connection open while trying to delete. The holder writes a marker, then keeps the
# connection until told to go (bounded, so a failing test cannot leave it behind).
ready=$BP_TMP/holder.ready release=$BP_TMP/holder.release
"$PY" - "$(bp_uri_unix scratch)" "$ready" "$release" <<'PYEOF' &
import os, sys, time
import nbd
uri, ready, release = sys.argv[1:4]
h = nbd.NBD()
h.connect_uri(uri)
h.pwrite(b"\x5a" * 4096, 8192)
h.flush()
open(ready, "w").close()
deadline = time.monotonic() + 120
while not os.path.exists(release) and time.monotonic() < deadline:
    time.sleep(0.05)
if h.pread(4096, 8192) != b"\x5a" * 4096:
    sys.exit("data changed under an open connection")
h.shutdown()
PYEOF
holder=$!
register_pid "$holder"
wait_until 30 "the holder to connect" test -e "$ready" || fail "holder never connected"

expect_refused "delete while connected" "scratch" bp_volume delete scratch
[[ $(listed_exports) == "default scratch" ]] || fail "refused delete still removed the export"

touch "$release"
holder_rc=0
wait "$holder" || holder_rc=$?
((holder_rc == 0)) || fail "the connected client saw its data change (status $holder_rc)"

# The server may notice the disconnect a moment after the client leaves.
deleted=0
for _ in $(seq 50); do
  if bp_volume delete scratch >"$BP_TMP/delete.out" 2>&1; then deleted=1; break; fi
  sleep 0.1
done
((deleted)) || fail "delete after disconnect failed: $(cat "$BP_TMP/delete.out")"
[[ $(listed_exports) == "default" ]] || fail "after delete: '$(listed_exports)'"
if nbdinfo --size "$(bp_uri_unix scratch)" >/dev/null 2>&1; then
  fail "a deleted volume still accepts connections"
fi

bp_volume create keeper --size 32MiB || fail "volume create keeper failed"
bp_volume create scratch --size 16MiB || fail "re-creating a deleted name failed"
# The re-created volume starts empty: nothing of the deleted one shows through.
"$PY" -c 'import nbd, sys
h = nbd.NBD(); h.connect_uri(sys.argv[1])
sys.exit(0 if h.pread(4096, 8192) == bytes(4096) else "old data in a re-created volume")' \
  "$(bp_uri_unix scratch)" || fail "re-created volume shows the deleted volume's data"
bp_volume delete scratch || fail "deleting the re-created volume failed"

restart_blockpipe
[[ $(listed_exports) == "default keeper" ]] || fail "after restart: '$(listed_exports)', expected 'default keeper'"
[[ $(nbdinfo --size "$(bp_uri_unix keeper)") == 33554432 ]] || fail "keeper has the wrong size after restart"
