#!/usr/bin/env bash
# An encrypted volume's local journal holds no plaintext ([engine] durability = "local"): with
# uploads held back (chattr +i on the file backend's segment directory, so the FLUSH can only be
# acknowledged from the journal, as a delta of the segment being filled), a megabyte of data with
# an ASCII marker in each 4 KiB block is written and flushed, and neither the journal's database
# nor its WAL holds the marker or any of several 16-byte slices of the data. The same scan first
# runs against an lz4 volume's journal and must find the marker there, so a scan that cannot see
# plaintext would fail this test. Finally kill -9 and a restart replay the encrypted journal and
# the data reads back intact.
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe
[[ $(id -u) == 0 ]] || skip "needs root for chattr +i (holding uploads back)"
require_cmd chattr

export BLOCKPIPE_PASSWORD='correct horse battery staple'
DATA=$BP_TMP/marker.bin
OFFSET=$((3 << 20))
segdir=

cleanup_with_unfreeze() {
  local rc=$?
  set +e
  [[ -n $segdir ]] && chattr -i "$segdir" 2>/dev/null
  (exit "$rc")
  bp_cleanup
}
trap cleanup_with_unfreeze EXIT

"$PY" "$BP_LIB_DIR/plaintext_markers.py" make "$DATA" 20261206 || fail "writing the marker data failed"

# nbd_io write|prime|verify OFFSET: the marker data at OFFSET (then a FLUSH), 4 KiB of other
# random data (then a FLUSH), or check that the marker data reads back.
nbd_io() {
  timeout 120 "$PY" - "$(bp_uri_unix)" "$DATA" "$1" "$2" <<'PYEOF'
import nbd, os, sys
uri, path, mode, offset = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
data = open(path, "rb").read()
h = nbd.NBD()
h.connect_uri(uri)
if mode == "write":
    h.pwrite(data, offset)
    h.flush()
elif mode == "prime":
    h.pwrite(os.urandom(4096), offset)
    h.flush()
elif h.pread(len(data), offset) != data:
    sys.exit("read-back differs from what was written")
h.shutdown()
PYEOF
}

# Prints how many files under $1 hold the marker or a probe slice; lists them on stderr.
count_plaintext_files() { "$PY" "$BP_LIB_DIR/plaintext_markers.py" count "$1" "$DATA"; }

# journal_after_held_flush DIR [init args]: a volume with the journal, uploads held back, the
# marker data written and flushed; the daemon stays up (the journal as a kill would leave it).
journal_after_held_flush() {
  local dir=$1
  shift
  bp_init "$dir"
  if (($#)); then
    "$BLOCKPIPE" init --data-dir "$BP_DIR" --port "$BP_PORT" "$@" --force >>"$BP_LOG" 2>&1 ||
      fail "blockpipe init $* failed"
  fi
  bp_config_sed 's/^durability = "store"/durability = "local"/'
  bp_run
  nbd_io write 0 || fail "the first write failed"
  segdir=$BP_DIR/objects/volumes/default/seg
  [[ -d $segdir ]] || fail "no segment directory at $segdir after a flushed write"
  chattr +i "$segdir" || fail "chattr +i $segdir failed"
  # The first held FLUSH finds the upload failing and journals its segment whole; from then on
  # the journal takes flushes, and the marker's goes in as a delta of the segment being filled.
  nbd_io prime $((16 << 20)) || fail "a write with uploads held back failed"
  nbd_io write "$OFFSET" || fail "writing the marker data with uploads held back failed"
  local deltas
  deltas=$("$PY" -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM deltas").fetchone()[0])' \
    "$BP_DIR/journal/journal.db") || fail "reading the journal's rows failed"
  ((deltas > 0)) || fail "the marker's FLUSH left no delta in the journal"
}

# ---- the scan sees plaintext in an unencrypted volume's journal ------------------------------
journal_after_held_flush "$BP_TMP/plain"
plain_hits=$(count_plaintext_files "$BP_DIR/journal")
((plain_hits > 0)) || fail "the scan found no plaintext in an lz4 volume's journal: it cannot be trusted"
kill9_blockpipe
chattr -i "$segdir"
log "control: the scan finds the marker in $plain_hits file(s) of an lz4 volume's journal"

# ---- the encrypted volume's journal holds none of it -----------------------------------------
journal_after_held_flush "$BP_TMP/encrypted" --encrypt
grep -q '^plugin = "encrypt"$' "$BP_CONFIG" || fail "init --encrypt wrote no encrypt codec"
hits=$(count_plaintext_files "$BP_DIR/journal")
[[ $hits == 0 ]] || fail "$hits file(s) of the encrypted volume's journal hold plaintext"
log "no marker and no data slice in the encrypted volume's journal"

# ---- kill -9: the restart replays the journal and the data reads back ------------------------
kill9_blockpipe
chattr -i "$segdir"
bp_run
grep -q 'uploaded [0-9]* segment(s) from the local journal' "$BP_LOG" ||
  fail "the restarted daemon did not replay its journal"
nbd_io verify "$OFFSET" || fail "the marker data did not read back after the replay"
stop_blockpipe
log "the encrypted journal replayed after kill -9; the data reads back intact"
