#!/usr/bin/env bash
# A cold sequential read fetches adjacent units with one ranged read each run and reads ahead:
# after a restart (empty memory cache, no disk cache) a 1 MiB-request sequential read of MIB
# mebibytes must plan read-ahead (blockpipe_read_ahead_units_total), read every unit from the
# store exactly once, and on a remote store (the s3./azure. variants) take well under one GET per
# 64 KiB unit (blockpipe_unit_ranged_reads_total); the file backend reads locally, where a run is
# read unit by unit (no round trip to save). A second read with read-ahead and coalescing turned
# off ([engine] read_ahead_max = 0, read_coalesce_max = unit size) shows the difference.
source "$(dirname "$0")/../lib/common.sh"

MIB=${BP_COALESCE_MIB:-64}
seq_data() { timeout 300 "$PY" "$BP_LIB_DIR/seq_data.py" "$@"; }
metric() {
  "$BLOCKPIPE" stats --prometheus --config "$BP_CONFIG" |
    awk -v n="blockpipe_$1" '$1 == n { v = $2 } END { print v + 0 }'
}

start_blockpipe
seq_data write "$(bp_uri_unix)" "$MIB" 3 || fail "writing $MIB MiB failed"
restart_blockpipe
seq_data verify "$(bp_uri_unix)" "$MIB" 3 8 || fail "sequential read returned other data"
reads=$(metric unit_ranged_reads_total) ahead=$(metric read_ahead_units_total)
log "coalesced: $reads ranged reads for $MIB MiB ($((MIB * 16)) units), $ahead units read ahead"
((ahead > 0)) || fail "no read-ahead planned for a sequential stream"
((reads <= MIB * 16)) || fail "$reads ranged reads for $((MIB * 16)) units: some were read twice"
remote=0
[[ ${BP_TEST_BACKEND:-file} != file ]] && remote=1
if ((remote)); then
  ((reads * 4 <= MIB * 16)) || fail "$reads ranged reads for $((MIB * 16)) units: not coalesced"
fi

stop_blockpipe
bp_config_sed 's/^cache_memory = .*/&\nread_ahead_max = 0\nread_coalesce_max = "64KiB"/'
bp_run
seq_data verify "$(bp_uri_unix)" "$MIB" 3 8 || fail "sequential read returned other data"
single=$(metric unit_ranged_reads_total)
log "without coalescing or read-ahead: $single ranged reads"
((single >= MIB * 16)) || fail "expected one read per unit without coalescing, got $single"
if ((remote)); then
  ((single >= 4 * reads)) || fail "coalescing saved too little: $reads against $single reads"
fi
stop_blockpipe
