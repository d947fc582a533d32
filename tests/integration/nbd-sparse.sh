#!/usr/bin/env bash
# Sparse volumes over NBD: a 4 GiB volume holding 64 MiB of data in four scattered pieces.
#  - `nbdinfo --map` and `qemu-img map` show exactly the written ranges as data and the rest as
#    holes (base:allocation from the extent map, before and after the data is flushed);
#  - nbdcopy (structured replies + BLOCK_STATUS) copies it to a sparse file that compares equal,
#    and the daemon's own counters show it read only the mapped extents: blockpipe_nbd_read_bytes
#    grows by the 64 MiB of data, not by 4 GiB;
#  - with structured replies refused by the client, the copy is still equal (simple replies).
source "$(dirname "$0")/../lib/common.sh"
require_cmd nbdinfo nbdcopy qemu-img

start_blockpipe
bp_volume create sparse --size 4GiB >/dev/null || fail "volume create sparse failed"
uri=$(bp_uri_unix sparse)
tcp=$(bp_uri_tcp sparse)

# Four 16 MiB pieces at 100 MiB, 1 GiB, 2 GiB + 4 KiB (unaligned to the map's 64 KiB units) and
# the last 16 MiB of the volume.
offsets=(104857600 1073741824 2147487744 4278190080)
for i in 0 1 2 3; do
  make_random_file "$BP_TMP/piece$i" 16 $((i + 1))
done
"$PY" - "$uri" "$BP_TMP" "${offsets[@]}" <<'PYEOF' || fail "writing the pieces failed"
import sys, nbd
h = nbd.NBD()
h.connect_uri(sys.argv[1])
for i, off in enumerate(sys.argv[3:]):
    data = open(f"{sys.argv[2]}/piece{i}", "rb").read()
    for at in range(0, len(data), 4 << 20):
        h.pwrite(data[at:at + (4 << 20)], int(off) + at)
h.shutdown()
PYEOF

expected_map() {
  local prev=0 off
  for off in "${offsets[@]}"; do
    ((off > prev)) && echo "$prev $((off - prev)) hole"
    echo "$off 16777216 data"
    prev=$((off + 16777216))
  done
  ((prev < 4294967296)) && echo "$prev $((4294967296 - prev)) hole"
  return 0
}
expected=$(expected_map)

check_maps() {
  local when=$1 got
  got=$(nbdinfo --map --json "$uri" | "$PY" -c 'import json, sys
for e in json.load(sys.stdin):
    print(e["offset"], e["length"], "hole" if e["type"] & 1 else "data")') ||
    fail "nbdinfo --map failed ($when)"
  [[ $got == "$expected" ]] || fail "nbdinfo --map ($when):
$got
expected:
$expected"
  got=$(qemu-img map --output=json "$tcp" | "$PY" -c 'import json, sys
for e in json.load(sys.stdin):
    print(e["start"], e["length"], "data" if e["data"] else "hole")') || fail "qemu-img map failed ($when)"
  [[ $got == "$expected" ]] || fail "qemu-img map ($when):
$got
expected:
$expected"
  log "nbdinfo --map and qemu-img map show the four pieces and the holes ($when)"
}
check_maps buffered
"$BLOCKPIPE" flush --config "$BP_CONFIG" >/dev/null || fail "blockpipe flush failed"
check_maps durable

read_bytes() {
  "$BLOCKPIPE" stats --prometheus --config "$BP_CONFIG" |
    awk '$1 == "blockpipe_nbd_read_bytes" { print $2; found = 1 } END { if (!found) print 0 }'
}

before=$(read_bytes)
start=$SECONDS
timeout 300 nbdcopy "$uri" "$BP_TMP/copy.img" || fail "nbdcopy of the sparse volume failed"
log "nbdcopy took $((SECONDS - start))s"
# Counters are flushed when a connection closes; nbdcopy has closed all of its own.
wait_until 10 "read counter to settle" test "$(read_bytes)" -gt "$before" || true
after=$(read_bytes)
read=$((after - before))
log "the daemon sent $read bytes of READ data for the copy"
((read >= 64 << 20)) || fail "only $read bytes read: the copy cannot hold the 64 MiB of data"
((read <= 80 << 20)) || fail "$read bytes read for 64 MiB of data: holes were read too"
for i in 0 1 2 3; do
  cmp <(dd if="$BP_TMP/copy.img" bs=4096 skip=$((offsets[i] / 4096)) count=4096 status=none) \
    "$BP_TMP/piece$i" || fail "piece $i differs in the copy"
done
[[ $(stat -c %s "$BP_TMP/copy.img") == 4294967296 ]] || fail "the copy is not 4 GiB"
allocated=$(($(stat -c %b "$BP_TMP/copy.img") * $(stat -c %B "$BP_TMP/copy.img")))
((allocated <= 80 << 20)) || fail "the copy allocates $allocated bytes: holes were written as data"
# The holes must read back as zeros: compare with a sparse file built from the pieces.
truncate -s 4G "$BP_TMP/expected.img"
for i in 0 1 2 3; do
  dd if="$BP_TMP/piece$i" of="$BP_TMP/expected.img" bs=4096 seek=$((offsets[i] / 4096)) conv=notrunc,sparse status=none
done
cmp "$BP_TMP/copy.img" "$BP_TMP/expected.img" || fail "the copy differs from the volume"
log "nbdcopy read only the mapped extents and the copy compares equal"

# Simple replies (the client refuses structured replies): same content, holes read as zeros.
"$PY" - "$uri" "$BP_TMP/expected.img" <<'PYEOF' || fail "reading with simple replies failed"
import sys, nbd
h = nbd.NBD()
h.set_request_structured_replies(False)
h.connect_uri(sys.argv[1])
assert not h.get_structured_replies_negotiated()
f = open(sys.argv[2], "rb")
for off in (0, 104857600 - 4096, 1073741824 + (16 << 20) - 8192, 4278190080 - 65536):
    f.seek(off)
    want = f.read(1 << 20)
    got = h.pread(1 << 20, off)
    assert got == want, f"simple-reply read at {off} differs"
h.shutdown()
PYEOF
log "simple replies return the same content"
