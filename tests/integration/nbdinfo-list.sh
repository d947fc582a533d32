#!/usr/bin/env bash
# nbdinfo --list shows every volume — the default one and one created at runtime through the
# control socket — over both the Unix socket and TCP, each with its size, and every export
# advertises flush, FUA, trim, write-zeroes, fast-zero, cache and multi-conn (`nbdinfo --can`
# exits non-zero when a flag is missing, which makes each one an assertion).
source "$(dirname "$0")/../lib/common.sh"
require_cmd nbdinfo

start_blockpipe
bp_volume create second --size 256MiB || fail "volume create second failed"

# Export names and sizes as the server lists them, one "name size" line each.
list_exports() {
  nbdinfo --list --json "$1" | "$PY" -c 'import json, sys
for e in json.load(sys.stdin)["exports"]:
    print(e["export-name"], e["export-size"])'
}

expected=$'default 1073741824\nsecond 268435456'
for listing_uri in "nbd+unix:///?socket=$BP_SOCK" "nbd://127.0.0.1:$BP_PORT/"; do
  got=$(list_exports "$listing_uri" | sort) || fail "nbdinfo --list $listing_uri failed"
  [[ $got == "$expected" ]] || fail "nbdinfo --list $listing_uri gave:
$got
expected:
$expected"
done

for export in default second; do
  for uri in "$(bp_uri_unix "$export")" "$(bp_uri_tcp "$export")"; do
    for flag in flush fua trim zero fast-zero cache multi-conn; do
      nbdinfo --can "$flag" "$uri" || fail "$uri does not advertise $flag (nbdinfo --can $flag)"
    done
    if nbdinfo --is read-only "$uri"; then fail "$uri is advertised read-only"; fi
  done
done
log "both exports listed with all flags"
