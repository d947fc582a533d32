#!/usr/bin/env bash
# The daemon on the file backend behind the two bundled filters, faults over delay: every object
# call waits a few milliseconds and one in ten fails transiently, one write in ten lands but loses
# its reply, one call in a hundred stalls for 200 ms. Real clients must not notice: an
# nbdcopy of 32 MiB and qemu-io byte patterns read back intact, before and after a restart, and
# the metrics show that faults were injected and retried. `blockpipe plugins` lists both filters
# with their ABI and keys and probes the stack, and `blockpipe fsck` (offline, through the same
# filter stack) finds the store clean.
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe
require_cmd qemu-io nbdcopy

bp_init
# Small segments: many writes for the faults to hit (a 16 MiB segment is one put).
bp_config_sed 's/^segment_size = .*/segment_size = "1MiB"/'
bp_config_append '
[[filter]]
plugin = "faults"
seed = 42
transient_rate = "10%"
lost_reply_rate = "10%"
stall_rate = "1%"
stall = "200ms"

[[filter]]
plugin = "delay"
latency = "2ms"
write_latency = "5ms"
jitter = "1ms"
bandwidth = "400MiB"'

"$BLOCKPIPE" plugins --config "$BP_CONFIG" --probe >"$BP_TMP/plugins.txt" 2>&1 ||
  fail "blockpipe plugins failed: $(cat "$BP_TMP/plugins.txt")"
for want in '^filter delay' '^filter faults' 'lost_reply_rate (string' 'upload_bandwidth (size' \
  'through filters faults > delay'; do
  grep -q -- "$want" "$BP_TMP/plugins.txt" || fail "blockpipe plugins lacks '$want': $(cat "$BP_TMP/plugins.txt")"
done
grep -A6 "^filter faults" "$BP_TMP/plugins.txt" | grep -q "ABI: *1\.[0-9]" ||
  fail "blockpipe plugins shows no ABI for the faults filter"

bp_run
make_random_file "$BP_TMP/in.bin" 32 11
timeout 300 nbdcopy "$BP_TMP/in.bin" "$(bp_uri_unix)" || fail "nbdcopy into the volume failed"
timeout 120 qemu-io -f raw -t writeback -c 'write -P 0x5a 100M 1M' -c 'write -P 0x6b 200M 64k' \
  -c 'write -P 0x7c 300M 4k' -c flush "$(bp_uri_unix)" >/dev/null || fail "qemu-io writes failed"

verify() {
  timeout 300 "$PY" - "$(bp_uri_unix)" "$BP_TMP/out.bin" $((32 << 20)) <<'PYEOF' || fail "reading the volume back failed ($1)"
import sys
import nbd
h = nbd.NBD()
h.connect_uri(sys.argv[1])
with open(sys.argv[2], "wb") as out:
    for offset in range(0, int(sys.argv[3]), 1 << 20):
        out.write(h.pread(1 << 20, offset))
h.shutdown()
PYEOF
  cmp "$BP_TMP/in.bin" "$BP_TMP/out.bin" || fail "nbdcopy data read back differs ($1)"
  timeout 120 qemu-io -f raw -c 'read -P 0x5a 100M 1M' -c 'read -P 0x6b 200M 64k' \
    -c 'read -P 0x7c 300M 4k' -c 'read -P 0 301M 1M' "$(bp_uri_unix)" >/dev/null ||
    fail "qemu-io patterns differ ($1)"
}
verify "while running"

metric() { "$BLOCKPIPE" stats --prometheus --config "$BP_CONFIG" | awk -v m="$1" '$1 == m { print $2 }'; }
injected=$(metric blockpipe_faults_injected_transient)
lost=$(metric blockpipe_faults_lost_replies)
retries=$(metric blockpipe_backend_retries_total)
log "faults injected: ${injected:-0} transient, ${lost:-0} lost replies; ${retries:-0} retries"
((${injected:-0} > 0)) || fail "the faults filter injected no transient error"
((${lost:-0} > 0)) || fail "the faults filter lost no reply"
((${retries:-0} > 0)) || fail "no retries although faults were injected"

restart_blockpipe
verify "after a restart"
stop_blockpipe
timeout 300 "$BLOCKPIPE" fsck --config "$BP_CONFIG" >"$BP_TMP/fsck.out" 2>&1 ||
  fail "fsck through the filters failed: $(cat "$BP_TMP/fsck.out")"
grep -q '^volume default: clean' "$BP_TMP/fsck.out" || fail "fsck did not report the volume clean: $(cat "$BP_TMP/fsck.out")"
log "through faults > delay: nbdcopy and qemu-io data intact across a restart, fsck clean"
