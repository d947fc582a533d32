#!/usr/bin/env bash
# The disk cache through a real client: data written through blockpipe reads back after a
# restart from the disk cache, not the object store (checked with the daemon's counters: disk
# cache hits, no ranged reads of the store); a byte flipped in a cache entry while the daemon is
# down is caught, the entry dropped and the unit fetched from the store again — the client gets
# the right data, never an error; deleting the volume removes its entries.
source "$(dirname "$0")/../lib/common.sh"

MIB=${BP_DISK_CACHE_MIB:-48}
seq_data() { timeout 300 "$PY" "$BP_LIB_DIR/seq_data.py" "$@"; }
metric() { # NAME → value of blockpipe_NAME (0 when absent)
  "$BLOCKPIPE" stats --prometheus --config "$BP_CONFIG" |
    awk -v n="blockpipe_$1" '$1 == n { v = $2 } END { print v + 0 }'
}

entries_at_most() { (($(metric disk_cache_entries) <= $1)); }

bp_init
bp_config_append '[disk_cache]
size = "128MiB"'
bp_run
seq_data write "$(bp_uri_unix)" "$MIB" 1 || fail "writing $MIB MiB failed"
# Units of uploaded segments are queued for the cache; give the writer a moment.
# Inserts are dropped rather than waited for when the cache's disk falls behind; count those.
# blockpipe init --disk-cache writes the section (and refuses a size below the minimum).
"$BLOCKPIPE" init --data-dir "$BP_TMP/init-check" --disk-cache 2GiB >/dev/null ||
  fail "blockpipe init --disk-cache 2GiB failed"
grep -A2 '^\[disk_cache\]' "$BP_TMP/init-check/blockpipe.toml" | grep -q '^size = "2GiB"' ||
  fail "init --disk-cache did not write [disk_cache] size = \"2GiB\""
if "$BLOCKPIPE" init --data-dir "$BP_TMP/init-small" --disk-cache 1MiB >"$BP_TMP/init-small.out" 2>&1; then
  fail "blockpipe init accepted --disk-cache 1MiB"
fi
grep -q "at least 64MiB" "$BP_TMP/init-small.out" || fail "unclear error: $(cat "$BP_TMP/init-small.out")"

cached_or_dropped() { (($(metric disk_cache_entries) + $(metric disk_cache_insert_drops_total) >= $1)); }
wait_until 30 "uploaded units in the disk cache" cached_or_dropped $((MIB * 16)) ||
  fail "the disk cache holds $(metric disk_cache_entries) units, expected $((MIB * 16))"
drops=$(metric disk_cache_insert_drops_total)
((drops <= MIB)) || fail "$drops of $((MIB * 16)) units were not cached"

# Warm restart: every unit comes from the disk cache.
restart_blockpipe
seq_data verify "$(bp_uri_unix)" "$MIB" 1 8 || fail "data read back after restart differs"
hits=$(metric disk_cache_hits_total) store_reads=$(metric unit_ranged_reads_total)
log "after restart: $hits disk cache hits, $store_reads ranged reads of the store"
((hits >= MIB * 16)) || fail "only $hits disk cache hits for $((MIB * 16)) units"
((store_reads <= drops)) || fail "$store_reads reads went to the store although the cache was warm"
"$BLOCKPIPE" stats --config "$BP_CONFIG" | grep -q '^disk cache: .*hit rate 100.0%' ||
  fail "blockpipe stats does not show the disk cache: $("$BLOCKPIPE" stats --config "$BP_CONFIG" | grep cache)"

# A flipped byte in a cached unit: dropped, fetched again, right data.
stop_blockpipe
"$PY" - "$BP_DIR/cache/units.dat" <<'PYEOF' || fail "no cache record to damage"
import sys
path = sys.argv[1]
region = 4 << 20
with open(path, "r+b") as f:
    size = f.seek(0, 2)
    for at in range(0, size, region):
        f.seek(at)
        if f.read(4) == b"BPDC":
            f.seek(at + 56 + 1000)
            b = f.read(1)
            f.seek(at + 56 + 1000)
            f.write(bytes([b[0] ^ 0x01]))
            sys.exit(0)
sys.exit(1)
PYEOF
bp_run
seq_data verify "$(bp_uri_unix)" "$MIB" 1 8 || fail "a damaged cache entry reached the client"
dropped=$(metric disk_cache_dropped_total) store_reads=$(metric unit_ranged_reads_total)
log "with a flipped byte: $dropped entries dropped, $store_reads ranged reads of the store"
((dropped >= 1)) || fail "the damaged entry was not detected"
((store_reads >= 1)) || fail "the damaged unit was not fetched from the store again"

# Deleting the volume removes its entries.
bp_volume create extra --size 64MiB || fail "volume create failed"
seq_data write "$(bp_uri_unix extra)" 8 2 || fail "writing to extra failed"
bp_volume delete extra || fail "volume delete failed"
wait_until 30 "entries of the deleted volume gone" entries_at_most $((MIB * 16)) ||
  fail "the deleted volume's entries are still in the disk cache"
stop_blockpipe
log "disk cache: warm after restart, damage caught, deleted volume's entries gone"
