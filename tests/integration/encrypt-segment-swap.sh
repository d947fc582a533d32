#!/usr/bin/env bash
# Objects moved between or within encrypted volumes are never served as the target's data:
#  1. volume a's segment copied verbatim over the same seq of volume b: b's reads of that data
#     fail with EIO (never a's plaintext), b's other data, and volume a, stay intact;
#  2. the same copy made to pass every plain check — b's uuid written into its header, the
#     checksums recomputed, b's checkpoints removed so b must replay the segment: the codec
#     refuses it, the log names it, and b never returns a's plaintext;
#  3. volume a's older checkpoint restored over its newer one (seq patched, checksums
#     recomputed): refused, and a is rebuilt correctly from the older checkpoint and segments.
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe

export BLOCKPIPE_PASSWORD='correct horse battery staple'
objtool() { "$PY" "$(dirname "$0")/encrypt_objects.py" "$@" || fail "encrypt_objects.py $*"; }

bp_init
"$BLOCKPIPE" init --data-dir "$BP_DIR" --port "$BP_PORT" --encrypt --force >>"$BP_LOG" 2>&1 ||
  fail "blockpipe init --encrypt failed"
bp_config_sed 's/^name = "default"$/name = "a"/'
bp_config_sed 's/^kdf = "moderate"$/kdf = "interactive"/'
bp_run
bp_volume create b --size 64MiB >/dev/null || fail "volume create b failed"
VOLS=$BP_DIR/objects/volumes

for name in a1 a2 b1 b2; do
  "$PY" -c 'import random, sys; sys.stdout.buffer.write(random.Random(sys.argv[1]).randbytes(1 << 20))' \
    "$name" >"$BP_TMP/$name.bin"
done

# nbd_io URI write|expect|not-plaintext OFFSET FILE [eio-only]
nbd_io() {
  timeout 60 "$PY" - "$@" <<'PYEOF'
import errno, nbd, sys
uri, mode, offset, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
data = open(path, "rb").read()
h = nbd.NBD()
h.connect_uri(uri)
if mode == "write":
    h.pwrite(data, offset)
    h.flush()
elif mode == "expect":
    if h.pread(len(data), offset) != data:
        sys.exit(f"bytes at {offset} differ from what was written")
else:
    eio_only = len(sys.argv) > 5
    for at in range(0, len(data), 65536):
        try:
            got = h.pread(65536, offset + at)
        except nbd.Error as e:
            if e.errnum != errno.EIO:
                sys.exit(f"read at {offset + at} failed with {e}, not EIO")
            continue
        if got == data[at:at + 65536]:
            sys.exit(f"read at {offset + at} returned the other volume's plaintext")
        if eio_only:
            sys.exit(f"read at {offset + at} returned data instead of EIO")
h.shutdown()
PYEOF
}

nbd_io "$(bp_uri_unix a)" write 0 "$BP_TMP/a1.bin" || fail "writing a1"
nbd_io "$(bp_uri_unix b)" write 0 "$BP_TMP/b1.bin" || fail "writing b1"
restart_blockpipe  # a's first checkpoint
nbd_io "$(bp_uri_unix a)" write $((8 << 20)) "$BP_TMP/a2.bin" || fail "writing a2"
nbd_io "$(bp_uri_unix b)" write $((8 << 20)) "$BP_TMP/b2.bin" || fail "writing b2"
stop_blockpipe
SEG=0000000000000001
[[ -f $VOLS/a/seg/$SEG && -f $VOLS/b/seg/$SEG ]] || fail "expected segment $SEG in both volumes"
cp "$VOLS/b/seg/$SEG" "$BP_TMP/b-seg1.orig"

a_intact() {
  nbd_io "$(bp_uri_unix a)" expect 0 "$BP_TMP/a1.bin" || fail "$1: volume a, a1"
  nbd_io "$(bp_uri_unix a)" expect $((8 << 20)) "$BP_TMP/a2.bin" || fail "$1: volume a, a2"
}
# (grep reads to the end in these pipelines: `grep -q` would cut them short into a SIGPIPE,
# which pipefail turns into a false failure.)
log_since() { tail -n +$(($1 + 1)) "$BP_LOG"; }

# ---- 1. verbatim copy -------------------------------------------------------------------------
cp "$VOLS/a/seg/$SEG" "$VOLS/b/seg/$SEG"
mark=$(wc -l <"$BP_LOG")
bp_run
nbd_io "$(bp_uri_unix b)" not-plaintext 0 "$BP_TMP/a1.bin" eio-only || fail "b served the swapped segment"
nbd_io "$(bp_uri_unix b)" expect $((8 << 20)) "$BP_TMP/b2.bin" || fail "b's later data was damaged"
a_intact "after the verbatim swap"
stop_blockpipe  # the daemon's log is complete once it has exited
log_since "$mark" | grep "volumes/b/seg/$SEG" >/dev/null || fail "the log does not name volumes/b/seg/$SEG"
log "verbatim copy of a's segment into b: EIO for b's range, object named, the rest intact"

# ---- 2. the copy disguised as b's own ---------------------------------------------------------
objtool copy-uuid "$VOLS/b/meta" "$VOLS/b/seg/$SEG"
rm -f "$VOLS"/b/ckpt/*
mark=$(wc -l <"$BP_LOG")
bp_run
nbd_io "$(bp_uri_unix b)" not-plaintext 0 "$BP_TMP/a1.bin" || fail "b served a's plaintext"
a_intact "after the disguised swap"
stop_blockpipe
log_since "$mark" | grep "volumes/b/seg/$SEG" | grep "authentication failed" >/dev/null ||
  fail "the disguised segment was not refused by the codec: $(log_since "$mark" | grep -m3 'volume b')"
log "disguised copy (b's uuid, valid checksums) refused by the codec; b never served a's data"

# ---- 3. a's older checkpoint restored over the newer one --------------------------------------
mapfile -t ckpts < <(find "$VOLS/a/ckpt" -type f | sort)
((${#ckpts[@]} >= 2)) || fail "volume a should have two checkpoints, has ${#ckpts[@]}"
older=${ckpts[-2]} newer=${ckpts[-1]}
newer_seq=$((16#$(basename "$newer")))
cp "$older" "$newer"
"$PY" - "$newer" "$newer_seq" <<'PYEOF' || fail "patching the checkpoint's seq failed"
import sys
path, seq = sys.argv[1], int(sys.argv[2])
data = bytearray(open(path, "rb").read())
data[24:32] = seq.to_bytes(8, "little")
open(path, "wb").write(data)
PYEOF
objtool reseal "$newer"
mark=$(wc -l <"$BP_LOG")
bp_run
a_intact "after the checkpoint replay"
stop_blockpipe
log_since "$mark" | grep -E "checkpoint $newer_seq is unusable" | grep "authentication failed" >/dev/null ||
  fail "the replayed checkpoint was not refused by the codec"
log "older checkpoint replayed as the newer one: refused, volume a rebuilt intact"
