#!/usr/bin/env bash
# `blockpipe volume copy` between two file stores. A volume written over NBD and stopped is
# copied to a second store and served from there with the same sha256 over the whole device. A
# copy killed part-way leaves no volume at the destination (the daemon there serves nothing)
# and a rerun completes it, reusing what was copied; a second rerun writes nothing. A copy onto
# a store that has a different volume of that name is refused and changes nothing; a copy from a
# daemon that is serving the volume is refused; --to-name serves the same bytes under the new
# name. An encrypted volume copies as it is and opens at the destination with the same password.
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe
require_cmd nbdcopy nbdinfo sha256sum

source "$BP_LIB_DIR/volume_copy.sh"

objects_digest() { (cd "$1/objects" && find . -type f ! -name '.bp-tmp-*' -print0 | sort -z | xargs -0 -r sha256sum); }

# ---- a source volume: 48 MiB of random data in 1 MiB segments, plus scattered writes ----
bp_init
bp_config_sed 's/^segment_size = .*/segment_size = "1MiB"/'
bp_config_sed 's/^size = "1GiB"$/size = "256MiB"/'
bp_run
make_random_file "$BP_TMP/data.bin" 48 7
timeout 120 nbdcopy "$BP_TMP/data.bin" "$(bp_uri_unix)" || fail "nbdcopy into the source failed"
timeout 120 "$PY" "$BP_LIB_DIR/pattern_io.py" write "$(bp_uri_unix)" 20 200 || fail "pattern write failed"
source_sha=$(sha_of "$BP_SOCK" default)

# While the daemon serves the volume, a copy is refused.
new_store "$BP_TMP/dst"
out=$(volume_copy default --config "$BP_CONFIG" --to-config "$BP_TMP/dst/blockpipe.toml" 2>&1) &&
  fail "copy from a running daemon succeeded: $out"
grep -q "stop it first" <<<"$out" || fail "unexpected refusal message: $out"
[[ ! -e $BP_TMP/dst/objects/volumes ]] || fail "a refused copy wrote to the destination"
stop_blockpipe
segments=$(find "$BP_DIR/objects/volumes/default/seg" -type f | wc -l)
((segments >= 40)) || fail "expected at least 40 source segments, found $segments"

# ---- interrupted copy: paced so it is still running when it is killed ----
# (The binary itself in the background, not under `timeout`: kill -9 must hit the copy.)
"$BLOCKPIPE" volume copy default --config "$BP_CONFIG" --to-config "$BP_TMP/dst/blockpipe.toml" \
  --jobs 1 --max-rate 4MiB >"$BP_TMP/copy1.out" 2>"$BP_TMP/copy1.err" &
copy_pid=$!
register_pid "$copy_pid"
dst_segments() { (($(find "$BP_TMP/dst/objects/volumes/default/seg" -type f ! -name '.bp-tmp-*' 2>/dev/null | wc -l) >= 3)); }
wait_until 60 "three segments at the destination" dst_segments || fail "the paced copy made no progress"
kill -KILL "$copy_pid"
wait "$copy_pid" 2>/dev/null || true
kill -0 "$copy_pid" 2>/dev/null && fail "the copy survived kill -9"
copied=$(find "$BP_TMP/dst/objects/volumes/default" -type f ! -name '.bp-tmp-*' | wc -l)
((copied < segments)) || fail "the copy finished before it was killed ($copied objects)"
[[ ! -e $BP_TMP/dst/objects/volumes/default/meta ]] || fail "an interrupted copy wrote meta"
log "copy killed after $copied objects; no meta at the destination"

start_store "$BP_TMP/dst"
listed=$("$BLOCKPIPE" volume list --json --config "$BP_TMP/dst/blockpipe.toml") || fail "volume list failed"
[[ $listed == "[]" ]] || fail "the destination daemon serves a half-copied volume: $listed"
if nbdinfo --list "nbd+unix:///?socket=$BP_TMP/dst/nbd.sock" 2>/dev/null | grep -q 'export="default"'; then
  fail "the half-copied volume is exported"
fi
stop_store

# ---- the rerun completes the copy, reusing what is there ----
volume_copy default --config "$BP_CONFIG" --to-config "$BP_TMP/dst/blockpipe.toml" --jobs 3 \
  >"$BP_TMP/copy2.out" 2>"$BP_TMP/copy2.err" || fail "rerun failed: $(cat "$BP_TMP/copy2.err")"
cat "$BP_TMP/copy2.out" >&2
reused=$(sed -n 's/.* \([0-9][0-9]*\) already there and identical.*/\1/p' "$BP_TMP/copy2.out")
[[ -n $reused ]] && ((reused >= 3)) || fail "the rerun did not reuse the copied objects (reused: '$reused')"
grep -q "verified: both listings match" "$BP_TMP/copy2.out" || fail "no verification in the summary"
grep -q "objects, .*%" "$BP_TMP/copy2.err" || fail "no progress on stderr: $(cat "$BP_TMP/copy2.err")"

start_store "$BP_TMP/dst"
copy_sha=$(sha_of "$BP_TMP/dst/nbd.sock" default)
stop_store
[[ $copy_sha == "$source_sha" ]] || fail "the copy serves other bytes ($copy_sha, source $source_sha)"
log "copy serves the same 256 MiB (sha256 $copy_sha)"

# A daemon that served the copy wrote a new checkpoint at shutdown: the copy is now a volume of
# its own. Copying again is refused because the two differ, and nothing there is touched.
before=$(objects_digest "$BP_TMP/dst")
out=$(volume_copy default --config "$BP_CONFIG" --to-config "$BP_TMP/dst/blockpipe.toml" 2>&1) && {
  # (Or the daemon wrote nothing at all: then it is still the identical copy.)
  grep -q "identical" <<<"$out" || fail "unexpected success: $out"
}
[[ $(objects_digest "$BP_TMP/dst") == "$before" ]] || fail "a repeated copy changed the destination"

# ---- an identical completed copy is accepted without writing ----
new_store "$BP_TMP/dst2"
volume_copy default --config "$BP_CONFIG" --to-config "$BP_TMP/dst2/blockpipe.toml" >/dev/null 2>&1 ||
  fail "copy to dst2 failed"
before=$(objects_digest "$BP_TMP/dst2")
out=$(volume_copy default --config "$BP_CONFIG" --to-config "$BP_TMP/dst2/blockpipe.toml" 2>/dev/null) ||
  fail "repeating a completed copy failed"
grep -q "nothing was written" <<<"$out" || fail "a repeated copy did not report an identical copy: $out"
[[ $(objects_digest "$BP_TMP/dst2") == "$before" ]] || fail "a repeated copy changed dst2"

# ---- refused onto a different volume of the same name ----
new_store "$BP_TMP/other"
printf '[[volume]]\nname = "default"\nsize = "64MiB"\n' >>"$BP_TMP/other/blockpipe.toml"
start_store "$BP_TMP/other"
stop_store
before=$(objects_digest "$BP_TMP/other")
out=$(volume_copy default --config "$BP_CONFIG" --to-config "$BP_TMP/other/blockpipe.toml" 2>&1) &&
  fail "copy onto a different volume succeeded: $out"
grep -q "different volume" <<<"$out" || fail "unexpected refusal message: $out"
[[ $(objects_digest "$BP_TMP/other") == "$before" ]] || fail "a refused copy changed the destination"

# ---- --to-name: the same bytes under another name, next to the other volume ----
volume_copy default --config "$BP_CONFIG" --to-config "$BP_TMP/other/blockpipe.toml" --to-name moved \
  >/dev/null 2>"$BP_TMP/copy3.err" || fail "copy --to-name failed: $(cat "$BP_TMP/copy3.err")"
start_store "$BP_TMP/other"
[[ $(sha_of "$BP_TMP/other/nbd.sock" moved) == "$source_sha" ]] || fail "the renamed copy serves other bytes"
stop_store
# ... but not a second time under yet another name in the same store (one uuid, one volume).
out=$(volume_copy default --config "$BP_CONFIG" --to-config "$BP_TMP/other/blockpipe.toml" --to-name twin 2>&1) &&
  fail "a second copy with the same uuid was accepted: $out"
grep -q "uuid" <<<"$out" || fail "unexpected refusal message: $out"

# ---- an encrypted volume copies as it is and opens with the same password ----
export BLOCKPIPE_PASSWORD='copy test passphrase'
new_store "$BP_TMP/enc-src" --encrypt
printf '[[volume]]\nname = "secret"\nsize = "64MiB"\n' >>"$BP_TMP/enc-src/blockpipe.toml"
start_store "$BP_TMP/enc-src"
timeout 120 nbdcopy "$BP_TMP/data.bin" "nbd+unix:///secret?socket=$BP_TMP/enc-src/nbd.sock" ||
  fail "nbdcopy into the encrypted volume failed"
enc_sha=$(sha_of "$BP_TMP/enc-src/nbd.sock" secret)
stop_store
new_store "$BP_TMP/enc-dst" --encrypt
volume_copy secret --config "$BP_TMP/enc-src/blockpipe.toml" --to-config "$BP_TMP/enc-dst/blockpipe.toml" \
  >/dev/null 2>"$BP_TMP/copy4.err" || fail "copying the encrypted volume failed: $(cat "$BP_TMP/copy4.err")"
cmp "$BP_TMP/enc-src/objects/volumes/secret/meta" "$BP_TMP/enc-dst/objects/volumes/secret/meta" ||
  fail "the encrypted volume's metadata (key header) changed in the copy"
start_store "$BP_TMP/enc-dst"
[[ $(sha_of "$BP_TMP/enc-dst/nbd.sock" secret) == "$enc_sha" ]] || fail "the encrypted copy serves other bytes"
stop_store
log "volume copy: resumable, refuses conflicts, renames, carries encrypted volumes"
