#!/usr/bin/env bash
# With the chain `blockpipe init --encrypt` writes (zstd → encrypt), no plaintext reaches the
# object store: a megabyte of incompressible data, each 4 KiB block tagged with an ASCII marker,
# is written through NBD and flushed, the daemon is stopped (final checkpoint written), and no
# object contains the marker or any of several 16-byte slices of the data — while the data
# reads back intact after a restart. The same scan first runs against a zstd-only store and must
# find the marker there, so a scan that cannot see plaintext would fail this test.
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe

export BLOCKPIPE_PASSWORD='correct horse battery staple'
DATA=$BP_TMP/marker.bin
OFFSET=$((3 << 20))

"$PY" "$BP_LIB_DIR/plaintext_markers.py" make "$DATA" 20261122 || fail "writing the marker data failed"

write_and_flush() {
  timeout 120 "$PY" - "$(bp_uri_unix)" "$DATA" "$OFFSET" <<'PYEOF' || fail "writing the marker data failed"
import nbd, sys
uri, path, offset = sys.argv[1], sys.argv[2], int(sys.argv[3])
h = nbd.NBD()
h.connect_uri(uri)
h.pwrite(open(path, "rb").read(), offset)
h.flush()
h.shutdown()
PYEOF
}

# Prints how many objects hold the marker or any probe slice; lists them on stderr.
count_plaintext_objects() { "$PY" "$BP_LIB_DIR/plaintext_markers.py" count "$1" "$DATA"; }

# ---- the scan sees plaintext in an unencrypted (zstd) store ----------------------------------
bp_init "$BP_TMP/plain"
bp_config_sed 's/^plugin = "lz4"$/plugin = "zstd"/'
bp_run
write_and_flush
stop_blockpipe
plain_hits=$(count_plaintext_objects "$BP_DIR/objects")
((plain_hits > 0)) || fail "the scan found no plaintext in a zstd-only store: it cannot be trusted"
log "control: the scan finds the marker in $plain_hits object(s) of a zstd-only store"

# ---- the encrypted store holds none of it ----------------------------------------------------
bp_init "$BP_TMP/encrypted"
"$BLOCKPIPE" init --data-dir "$BP_DIR" --port "$BP_PORT" --encrypt --force >>"$BP_LOG" 2>&1 ||
  fail "blockpipe init --encrypt failed"
grep -q '^plugin = "encrypt"$' "$BP_CONFIG" || fail "init --encrypt wrote no encrypt codec"
bp_run
write_and_flush
stop_blockpipe
segments=$(find "$BP_DIR/objects" -path '*/seg/*' -type f | wc -l)
checkpoints=$(find "$BP_DIR/objects" -path '*/ckpt/*' -type f | wc -l)
((segments > 0 && checkpoints > 0)) ||
  fail "expected segments and a checkpoint in the store, found $segments and $checkpoints"
hits=$(count_plaintext_objects "$BP_DIR/objects")
[[ $hits == 0 ]] || fail "$hits object(s) of the encrypted store hold plaintext"
if grep -rqa "$BLOCKPIPE_PASSWORD" "$BP_DIR" "$BP_LOG"; then
  fail "the password appears in the data dir or the daemon log"
fi
log "no marker, no data slice and no password in $segments segment(s) and $checkpoints checkpoint(s)"

# ---- and the data reads back after a restart -------------------------------------------------
bp_run
timeout 120 "$PY" - "$(bp_uri_unix)" "$DATA" "$OFFSET" <<'PYEOF' || fail "the data did not read back intact"
import nbd, sys
uri, path, offset = sys.argv[1], sys.argv[2], int(sys.argv[3])
expected = open(path, "rb").read()
h = nbd.NBD()
h.connect_uri(uri)
got = h.pread(len(expected), offset)
h.shutdown()
sys.exit(0 if got == expected else "read-back differs from what was written")
PYEOF
stop_blockpipe
log "encrypted data reads back intact after a restart"
