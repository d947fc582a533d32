#!/usr/bin/env bash
# Tampering with an encrypted volume's objects is detected, never served as data, and contained:
#  1. one byte flipped in a segment's unit area: reads of that unit's range fail with EIO, the
#     rest of the segment, the rest of the volume and another volume read correctly, the log
#     names the segment object, and the daemon keeps running and stops cleanly;
#  2. one byte flipped in the newest checkpoint, with the object's plain checksums recomputed so
#     only the codec's authentication can notice: the checkpoint is refused by name and the
#     volume is rebuilt from an older checkpoint or the segments — every byte still correct.
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe

export BLOCKPIPE_PASSWORD='correct horse battery staple'
UNIT=$((64 << 10))

bp_init
"$BLOCKPIPE" init --data-dir "$BP_DIR" --port "$BP_PORT" --encrypt --force >>"$BP_LOG" 2>&1 ||
  fail "blockpipe init --encrypt failed"
bp_config_sed 's/^kdf = "moderate"$/kdf = "interactive"/'
bp_run
bp_volume create other --size 64MiB >/dev/null || fail "volume create other failed"
VOLDIR=$BP_DIR/objects/volumes

for name in r1 r2 o1; do
  "$PY" -c 'import random, sys; sys.stdout.buffer.write(random.Random(sys.argv[1]).randbytes(1 << 20))' \
    "$name" >"$BP_TMP/$name.bin"
done

# nbd_io URI write|expect|expect-eio OFFSET [FILE]: one request per unit-sized piece.
nbd_io() {
  timeout 60 "$PY" - "$@" <<'PYEOF'
import errno, nbd, sys
uri, mode, offset = sys.argv[1], sys.argv[2], int(sys.argv[3])
h = nbd.NBD()
h.connect_uri(uri)
if mode == "write":
    h.pwrite(open(sys.argv[4], "rb").read(), offset)
    h.flush()
elif mode == "expect":
    data = open(sys.argv[4], "rb").read()
    got = h.pread(len(data), offset)
    if got != data:
        sys.exit(f"bytes at {offset}+{len(data)} differ from what was written")
else:
    length = int(sys.argv[4])
    try:
        h.pread(length, offset)
        sys.exit(f"read of {offset}+{length} succeeded over tampered data")
    except nbd.Error as e:
        if e.errnum != errno.EIO:
            sys.exit(f"read of {offset}+{length} failed with {e}, not EIO")
h.shutdown()
PYEOF
}

newest() { find "$1" -type f | sort | tail -n 1; }

nbd_io "$(bp_uri_unix)" write 0 "$BP_TMP/r1.bin" || fail "writing r1 failed"
SEG=$(newest "$VOLDIR/default/seg")
nbd_io "$(bp_uri_unix)" write $((8 << 20)) "$BP_TMP/r2.bin" || fail "writing r2 failed"
nbd_io "$(bp_uri_unix other)" write 0 "$BP_TMP/o1.bin" || fail "writing to other failed"
[[ $(newest "$VOLDIR/default/seg") != "$SEG" ]] || fail "r2 did not land in a later segment"
stop_blockpipe

verify_untouched() {
  dd if="$BP_TMP/r1.bin" of="$BP_TMP/r1-tail.bin" bs=$UNIT skip=1 status=none
  nbd_io "$(bp_uri_unix)" expect "$UNIT" "$BP_TMP/r1-tail.bin" || fail "$1: rest of the segment: $?"
  nbd_io "$(bp_uri_unix)" expect $((8 << 20)) "$BP_TMP/r2.bin" || fail "$1: the later segment"
  nbd_io "$(bp_uri_unix other)" expect 0 "$BP_TMP/o1.bin" || fail "$1: the other volume"
}

objtool() { "$PY" "$(dirname "$0")/encrypt_objects.py" "$@" || fail "encrypt_objects.py $*"; }

# ---- 1. a byte of a data unit ----------------------------------------------------------------
at=$(($(objtool units-offset "$SEG") + 100))
objtool flip "$SEG" "$at"
log "flipped byte $at of ${SEG#$BP_DIR/objects/} (first unit)"
log_start=$(wc -l <"$BP_LOG")
bp_run
nbd_io "$(bp_uri_unix)" expect-eio 0 4096 || fail "tampered unit"
nbd_io "$(bp_uri_unix)" expect-eio $((UNIT - 512)) 1024 || fail "a read straddling the tampered unit"
verify_untouched "after a unit flip"
kill -0 "$BP_PID" 2>/dev/null || fail "the daemon died"
stop_blockpipe  # the daemon's log is complete once it has exited
tail -n +$((log_start + 1)) "$BP_LOG" | grep "${SEG#$BP_DIR/objects/}" >/dev/null ||
  fail "the log does not name the tampered object ${SEG#$BP_DIR/objects/}"
objtool flip "$SEG" "$at"
log "tampered unit: EIO for its range only, object named in the log, clean stop"

# ---- 2. a byte of the newest checkpoint, checksums recomputed ----------------------------------
CKPT=$(newest "$VOLDIR/default/ckpt")
[[ -n $CKPT ]] || fail "volume default has no checkpoint"
objtool flip "$CKPT" 120
objtool reseal "$CKPT"
log "flipped byte 120 of ${CKPT#$BP_DIR/objects/} and recomputed its checksums"
log_start=$(wc -l <"$BP_LOG")
bp_run
nbd_io "$(bp_uri_unix)" expect 0 "$BP_TMP/r1.bin" || fail "r1 after the checkpoint flip"
verify_untouched "after a checkpoint flip"
stop_blockpipe
ckpt_seq=$((16#$(basename "$CKPT")))
tail -n +$((log_start + 1)) "$BP_LOG" | grep "checkpoint $ckpt_seq is unusable" | grep "authentication failed" >/dev/null ||
  fail "the log does not say the codec refused checkpoint $(basename "$CKPT")"
log "tampered checkpoint refused by name; the volume was rebuilt from the segments, every byte intact"
