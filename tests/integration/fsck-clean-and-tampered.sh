#!/usr/bin/env bash
# `blockpipe fsck` on an encrypted (zstd → encrypt) and on an unencrypted (lz4) store:
#  - a clean store exits 0 and says so;
#  - one byte flipped in a segment's first unit exits 1 and names the segment object and the
#    volume bytes that unit holds; one byte flipped in the checkpoint (for the encrypted store
#    with the plain checksums recomputed, so only authentication can tell) exits 1 naming the
#    checkpoint; both at once name both;
#  - fsck never writes: the store is byte-identical before and after every run, damaged or not
#    (nothing quarantined, nothing reclaimed, no checkpoint written);
#  - a wrong password and an unknown volume are problems (exit 1), a config that cannot be
#    loaded is "cannot check" (exit 2).
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe

objtool() { "$PY" "$(dirname "$0")/encrypt_objects.py" "$@" || fail "encrypt_objects.py $*"; }
snapshot() { (cd "$BP_DIR/objects" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
newest() { find "$1" -type f | sort | tail -n 1; }

# fsck_expect STATUS OUTFILE [ARGS...]: run fsck, check its exit status and that it wrote nothing.
fsck_expect() {
  local want=$1 out=$2 rc=0 before
  shift 2
  before=$(snapshot)
  timeout 120 "$BLOCKPIPE" fsck --config "$BP_CONFIG" "$@" >"$out" 2>&1 || rc=$?
  cat "$out" >>"$BP_LOG"
  ((rc == want)) || fail "fsck $* exited $rc, expected $want: $(tail -n 5 "$out")"
  [[ $(snapshot) == "$before" ]] || fail "fsck $* changed the store"
}

# write_two_segments: 1 MiB at 0 and 1 MiB at 8 MiB, each flushed into its own segment, then a
# clean stop (which writes the final checkpoint).
write_two_segments() {
  make_random_file "$BP_TMP/a.bin" 1 11
  make_random_file "$BP_TMP/b.bin" 1 12
  timeout 60 "$PY" - "$(bp_uri_unix)" "$BP_TMP/a.bin" "$BP_TMP/b.bin" <<'PYEOF' || fail "writing failed"
import nbd, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
h.pwrite(open(sys.argv[2], "rb").read(), 0)
h.flush()
h.pwrite(open(sys.argv[3], "rb").read(), 8 << 20)
h.flush()
h.shutdown()
PYEOF
  stop_blockpipe
}

# check_store LABEL RESEAL: the clean run, a segment flip, a checkpoint flip, both.
check_store() {
  local label=$1 reseal=$2 voldir=$BP_DIR/objects/volumes/default seg ckpt at
  fsck_expect 0 "$BP_TMP/clean.out"
  grep -q '^volume default: clean' "$BP_TMP/clean.out" || fail "$label: clean store not reported clean: $(cat "$BP_TMP/clean.out")"
  grep -q 'no problems' "$BP_TMP/clean.out" || fail "$label: no summary line"
  log "$label: clean store: $(grep '^volume default' "$BP_TMP/clean.out")"

  seg=$(find "$voldir/seg" -type f | sort | head -n 1)
  ckpt=$(newest "$voldir/ckpt")
  [[ -n $seg && -n $ckpt ]] || fail "$label: expected a segment and a checkpoint"
  seg_key=${seg#$BP_DIR/objects/}
  ckpt_key=${ckpt#$BP_DIR/objects/}

  at=$(($(objtool units-offset "$seg") + 100))
  objtool flip "$seg" "$at"
  fsck_expect 1 "$BP_TMP/seg.out"
  grep -q "PROBLEM $seg_key: unit 0 .*\[volume bytes 0-65535\]" "$BP_TMP/seg.out" ||
    fail "$label: the segment flip is not reported with its object and range: $(cat "$BP_TMP/seg.out")"
  grep -q "PROBLEM $ckpt_key" "$BP_TMP/seg.out" && fail "$label: the untouched checkpoint was reported"
  log "$label: segment flip: $(grep -m1 PROBLEM "$BP_TMP/seg.out")"

  objtool flip "$ckpt" 120
  [[ $reseal == yes ]] && objtool reseal "$ckpt"
  fsck_expect 1 "$BP_TMP/both.out" --volume default
  grep -q "PROBLEM $ckpt_key" "$BP_TMP/both.out" || fail "$label: the checkpoint flip is not named: $(cat "$BP_TMP/both.out")"
  grep -q "PROBLEM $seg_key: unit 0" "$BP_TMP/both.out" || fail "$label: the segment flip is no longer named"
  log "$label: checkpoint flip: $(grep -m1 "PROBLEM $ckpt_key" "$BP_TMP/both.out")"

  objtool flip "$seg" "$at"
  fsck_expect 1 "$BP_TMP/ckpt.out"
  grep -q "PROBLEM $ckpt_key" "$BP_TMP/ckpt.out" || fail "$label: the checkpoint flip alone is not named"
  grep -c PROBLEM "$BP_TMP/ckpt.out" | grep -qx 1 || fail "$label: more than the checkpoint reported: $(cat "$BP_TMP/ckpt.out")"
  objtool flip "$ckpt" 120
  [[ $reseal == yes ]] && objtool reseal "$ckpt"
  fsck_expect 0 "$BP_TMP/restored.out"
  log "$label: with both bytes restored the store is clean again"
}

# ---- encrypted store --------------------------------------------------------------------------
export BLOCKPIPE_PASSWORD='correct horse battery staple'
bp_init
"$BLOCKPIPE" init --data-dir "$BP_DIR" --port "$BP_PORT" --encrypt --force >>"$BP_LOG" 2>&1 ||
  fail "blockpipe init --encrypt failed"
bp_config_sed 's/^kdf = "moderate"$/kdf = "interactive"/'
bp_run
write_two_segments
check_store "zstd > encrypt" yes

BLOCKPIPE_PASSWORD='wrong horse' fsck_expect 1 "$BP_TMP/wrongpw.out"
grep -q 'PROBLEM volumes/default/meta: the codec chain does not open: .*wrong password for volume default' "$BP_TMP/wrongpw.out" ||
  fail "a wrong password is not reported: $(cat "$BP_TMP/wrongpw.out")"
grep -q 'wrong horse' "$BP_TMP/wrongpw.out" && fail "fsck echoed the password"
fsck_expect 1 "$BP_TMP/nosuch.out" --volume nosuch
grep -q 'no volume nosuch' "$BP_TMP/nosuch.out" || fail "an unknown volume is not reported: $(cat "$BP_TMP/nosuch.out")"
rc=0
"$BLOCKPIPE" fsck --config "$BP_TMP/missing.toml" >"$BP_TMP/noconfig.out" 2>&1 || rc=$?
((rc == 2)) || fail "a missing config gave status $rc, expected 2"
log "wrong password and unknown volume are problems; a missing config cannot be checked"

# ---- unencrypted lz4 store --------------------------------------------------------------------
unset BLOCKPIPE_PASSWORD
bp_init "$BP_TMP/plain"
grep -q '^plugin = "lz4"$' "$BP_CONFIG" || fail "the default config is not lz4"
bp_run
write_two_segments
check_store "lz4" no
