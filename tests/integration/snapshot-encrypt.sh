#!/usr/bin/env bash
# Snapshots and clones of an encrypted volume: the clone reads the parent's units with the
# parent's key (bound to the parent's uuid and segment by the cipher's associated data) and
# writes its own with a key of its own; no object of the clone holds plaintext of what it wrote;
# `change-password` rewraps the clone's record of its base's key too, so after it the snapshot,
# the clone and the parent all serve their data with the new password only; fsck authenticates
# every unit of all three.
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe

P1='first password, long enough'
P2='second password, also long'
export BLOCKPIPE_PASSWORD=$P1

bp_init
"$BLOCKPIPE" init --data-dir "$BP_DIR" --port "$BP_PORT" --encrypt --force >>"$BP_LOG" 2>&1 ||
  fail "blockpipe init --encrypt failed"
bp_config_sed 's/^kdf = "moderate"$/kdf = "interactive"/'
bp_run
pattern() { timeout 120 "$PY" "$BP_LIB_DIR/pattern_io.py" "$@"; }
pattern write "$(bp_uri_unix)" 1 40 || fail "writing set 1"
"$BLOCKPIPE" snapshot create default base --config "$BP_CONFIG" >/dev/null || fail "snapshot"
pattern write "$(bp_uri_unix)" 2 40 || fail "writing set 2 to the parent"
"$BLOCKPIPE" volume clone default@base fork --config "$BP_CONFIG" >/dev/null || fail "clone"
pattern verify "$(bp_uri_unix fork)" 1 40 || fail "the clone does not read the parent's data"
# A marker only the clone writes, to look for in its objects.
"$PY" - "$(bp_uri_unix fork)" <<'PYEOF' || fail "clone write"
import sys, nbd
h = nbd.NBD(); h.connect_uri(sys.argv[1])
h.pwrite(b"CLONE-PLAINTEXT-MARKER-" * 178 + b"xx", 3 << 20)  # 4096 bytes
h.flush(); h.shutdown()
PYEOF
pattern write "$(bp_uri_unix fork)" 3 40 || fail "writing set 3 to the clone"
stop_blockpipe
if grep -rqa "CLONE-PLAINTEXT-MARKER" "$BP_DIR/objects"; then
  fail "a clone's object holds plaintext"
fi

printf '%s' "$P2" | timeout 120 "$BLOCKPIPE" change-password --config "$BP_CONFIG" \
  >>"$BP_LOG" 2>&1 || fail "change-password failed"
export BLOCKPIPE_PASSWORD=$P2
bp_run
pattern verify "$(bp_uri_unix fork)" 1 40 || fail "clone: the base's data after change-password"
pattern verify "$(bp_uri_unix fork)" 3 40 || fail "clone: its own data after change-password"
pattern verify "$(bp_uri_unix default@base)" 1 40 || fail "snapshot after change-password"
pattern verify "$(bp_uri_unix)" 2 40 || fail "parent after change-password"
stop_blockpipe
"$BLOCKPIPE" fsck --config "$BP_CONFIG" >"$BP_TMP/fsck.out" 2>&1 || {
  cat "$BP_TMP/fsck.out" >&2
  fail "fsck found problems"
}
log "encrypted snapshot and clone: separate keys, both rewrapped, fsck clean"
