#!/usr/bin/env bash
# kill -9 while a restarted daemon replays its local journal ([engine] durability = "local").
# Each cycle holds uploads back (chattr +i on the file backend's segment directory: the flushes
# are acknowledged from the journal alone), writes and flushes 40 chunks of 1 MiB, kills the
# daemon, lets uploads through again and starts the daemon, killing it again once the first
# replayed segment reaches the store (in even cycles once all but the last, the segment the
# replay rebuilds from its deltas, have). The next
# start must finish the replay — segments already uploaded are found in the store, the rest
# follow — and serve every flushed write; fsck is clean at the end. A cycle whose replay won the
# race against the kill is an ordinary restart, but at least one must have been killed midway.
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe
[[ $(id -u) == 0 ]] || skip "needs root for chattr +i (holding uploads back)"
require_cmd chattr

readonly CYCLES=${BP_REPLAY_CYCLES:-4}
readonly CHUNKS_PER_CYCLE=40
readonly CHUNKS="$PY $BP_LIB_DIR/flushed_chunks.py"
state=$BP_TMP/chunks.json
segdir=

cleanup_with_unfreeze() {
  local rc=$?
  set +e
  [[ -n $segdir ]] && chattr -i "$segdir" 2>/dev/null
  (exit "$rc")
  bp_cleanup
}
trap cleanup_with_unfreeze EXIT

chunks() { timeout 300 $CHUNKS "$@" || fail "flushed_chunks.py $* failed"; }
segment_count() { find "$segdir" -maxdepth 1 -type f ! -name '.*' | wc -l; }

with_journal() { bp_config_sed 's/^durability = "store"/durability = "local"/'; }

start_blockpipe with_journal
chunks write "$(bp_uri_unix)" "$state" 0 2 >/dev/null
segdir=$BP_DIR/objects/volumes/default/seg
[[ -d $segdir ]] || fail "no segment directory at $segdir after flushed writes"

killed_mid_replay=0
for ((cycle = 1; cycle <= CYCLES; cycle++)); do
  chattr +i "$segdir" || fail "chattr +i $segdir failed"
  chunks write "$(bp_uri_unix)" "$state" $((cycle * 100)) $CHUNKS_PER_CYCLE >"$BP_TMP/write.out"
  grep -q ": $CHUNKS_PER_CYCLE flushed, 0 FLUSH" "$BP_TMP/write.out" ||
    fail "cycle $cycle: flushes failed with uploads held back: $(cat "$BP_TMP/write.out")"
  kill9_blockpipe
  before=$(segment_count)
  # The segments the replay is to upload: the chunks went to the journal as deltas of the
  # segment being filled, and whole once sealed (16 MiB each), so about 40 MiB / 16 MiB of them.
  journaled=$("$BLOCKPIPE" fsck --config "$BP_CONFIG" 2>/dev/null |
    sed -n 's/^journal .* \([0-9][0-9]*\) segment(s) of .*/\1/p')
  [[ $journaled =~ ^[0-9]+$ ]] && ((journaled >= 2)) ||
    fail "cycle $cycle: the journal holds '${journaled}' segments, expected at least 2"
  # Odd cycles kill after the first replayed segment, even ones just before the last (the one
  # rebuilt from its deltas).
  at=$((cycle % 2 ? 1 : journaled - 1))
  chattr -i "$segdir" || fail "chattr -i $segdir failed"

  # Start, and kill again once the replay has put its first segments in the store.
  echo "==== start (to be killed mid-replay) $(date +%T.%N) ====" >>"$BP_LOG"
  "$BLOCKPIPE" run --config "$BP_CONFIG" >>"$BP_LOG" 2>&1 &
  BP_PID=$!
  rc=0
  timeout 120 "$PY" "$BP_LIB_DIR/kill_mid_replay.py" "$BP_PID" "$segdir" "$before" \
    $((before + journaled)) 60 "$at" >"$BP_TMP/kill.out" || rc=$?
  case $rc in
    0) ((++killed_mid_replay)) ;;
    2) ;;  # the replay won the race: this cycle is an ordinary restart
    *) fail "cycle $cycle: $(cat "$BP_TMP/kill.out")" ;;
  esac
  kill9_blockpipe
  log "cycle $cycle: $(cat "$BP_TMP/kill.out")"

  # The next start finishes the replay and serves every flushed write.
  log_lines=$(wc -l <"$BP_LOG")
  bp_run
  if ((rc == 0)); then
    tail -n +$((log_lines + 1)) "$BP_LOG" | grep -q 'uploaded [0-9]* segment(s) from the local journal' ||
      fail "cycle $cycle: the start after the interrupted replay did not finish it"
  fi
  chunks verify "$(bp_uri_unix)" "$state" >"$BP_TMP/verify.out"
  log "cycle $cycle: $(cat "$BP_TMP/verify.out")"
done
((killed_mid_replay > 0)) || fail "no kill landed during a replay in $CYCLES cycles"
stop_blockpipe
"$BLOCKPIPE" fsck --config "$BP_CONFIG" >"$BP_TMP/fsck.out" 2>&1 ||
  fail "fsck after the cycles: $(tail -n 5 "$BP_TMP/fsck.out")"
grep -q '^journal .*: clean' "$BP_TMP/fsck.out" || fail "fsck did not check the journal: $(cat "$BP_TMP/fsck.out")"
log "$killed_mid_replay of $CYCLES replays killed midway: every flushed write served, fsck clean"
