#!/usr/bin/env bash
# How many store requests a sequential stream keeps in flight, seen through the daemon's own
# gauges: behind the delay filter (every write 300 ms, every read 30 ms, as a remote store's
# round trips), a sequential write of 96 MiB in 4 MiB segments must keep several segment uploads
# going at once and never more than [engine] uploads_in_flight
# (blockpipe_segment_uploads_in_flight_peak), and after a restart a cold sequential read at
# queue depth 8 must keep several ranged reads going (blockpipe_unit_reads_in_flight_peak) and
# plan read-ahead; the data reads back intact.
source "$(dirname "$0")/../lib/common.sh"

MIB=96
seq_data() { timeout 300 "$PY" "$BP_LIB_DIR/seq_data.py" "$@"; }
metric() {
  "$BLOCKPIPE" stats --prometheus --config "$BP_CONFIG" |
    awk -v n="blockpipe_$1" '$1 == n { v = $2 } END { print v + 0 }'
}

bp_init
bp_config_sed 's/^segment_size = .*/segment_size = "4MiB"/'
bp_config_sed 's/^uploads_in_flight = .*/uploads_in_flight = 3/'
bp_config_append "$(printf '[[filter]]\nplugin = "delay"\nwrite_latency = "300ms"\nread_latency = "30ms"')"
grep -q '^segment_size = "4MiB"$' "$BP_CONFIG" && grep -q '^uploads_in_flight = 3$' "$BP_CONFIG" ||
  fail "could not set segment_size and uploads_in_flight in $BP_CONFIG"
bp_run

seq_data write "$(bp_uri_unix)" "$MIB" 5 || fail "writing $MIB MiB failed"
uploads=$(metric segment_uploads_in_flight_peak)
log "segment uploads in flight at most: $uploads (uploads_in_flight = 3)"
((uploads >= 2)) || fail "a sequential write kept only $uploads segment upload(s) in flight"
((uploads <= 3)) || fail "$uploads segment uploads in flight, more than uploads_in_flight = 3"

restart_blockpipe
seq_data verify "$(bp_uri_unix)" 32 5 8 || fail "the cold sequential read returned other data"
reads=$(metric unit_reads_in_flight_peak) ahead=$(metric read_ahead_units_total)
log "ranged reads in flight at most: $reads; $ahead units read ahead"
((reads >= 3)) || fail "a cold sequential read at queue depth 8 kept only $reads read(s) in flight"
((ahead > 0)) || fail "no read-ahead planned for a sequential stream"
stop_blockpipe
