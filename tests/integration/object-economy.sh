#!/usr/bin/env bash
# Small random writes must be batched into segments, not stored one object per block: after
# 64 MiB of random 4 KiB writes (fio's nbd engine, queue depth 32, every block once, verified by
# fio's crc32c read-back) and a FLUSH, the backend directory holds at most a few dozen objects.
# 16384 writes stored naively would be 16384 objects.
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe
require_cmd fio nbdsh

readonly MAX_OBJECTS=48

start_blockpipe
objects_dir=$BP_DIR/objects
[[ -d $objects_dir ]] || fail "file backend directory $objects_dir does not exist"
before=$(find "$objects_dir" -type f ! -name '.bp-tmp-*' | wc -l)

timeout 300 fio --name=economy --ioengine=nbd --uri="$(bp_uri_unix)" --rw=randwrite --bs=4k --size=64m \
  --iodepth=32 --verify=crc32c --do_verify=1 --randseed=4242 \
  --output="$BP_TMP/fio.json" --output-format=json >"$BP_TMP/fio.stdout" 2>&1 ||
  fail "fio failed: $(tail -n 20 "$BP_TMP/fio.stdout")"
"$PY" -c 'import json, sys
job = json.load(open(sys.argv[1]))["jobs"][0]
if job["error"] != 0:
    sys.exit("fio reported error %d" % job["error"])
written = job["write"]["io_bytes"]
if written < 64 << 20:
    sys.exit("fio wrote only %d bytes" % written)' "$BP_TMP/fio.json" || fail "fio did not write and verify 64 MiB"

nbdsh -u "$(bp_uri_unix)" -c 'h.flush()' || fail "FLUSH failed"

after=$(find "$objects_dir" -type f ! -name '.bp-tmp-*' | wc -l)
log "objects before: $before, after 64 MiB of 4 KiB random writes + FLUSH: $after"
find "$objects_dir" -type f -printf '%s %P\n' | sort -k2 | head -n 60 >&2
((after > before)) || fail "no object was written by 64 MiB of writes"
((after <= MAX_OBJECTS)) || fail "$after objects in the backend (limit $MAX_OBJECTS): writes are not batched"
