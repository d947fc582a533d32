#!/usr/bin/env bash
# An outage driven by the faults filter (tests/lib/outage.sh): while its outage_file exists every
# object call fails transiently, as if the store were unreachable. A write+flush during the outage
# gets EIO once [engine] retry_deadline_ms (5 s) has passed — no hang, no crash — and when the
# file is removed the daemon serves writes again without a restart; after a final restart every
# acknowledged-flushed write is intact. Unlike s3-outage and azure-outage, which kill the real
# server, this runs the same scenario on any backend: it also runs as s3.faults-outage and
# azure.faults-outage against the shared test servers.
source "$(dirname "$0")/../lib/common.sh"
source "$BP_LIB_DIR/outage.sh"
require_blockpipe
require_cmd qemu-io nbdinfo

outage_flag=$BP_TMP/outage
outage_on() { touch "$outage_flag"; }
outage_off() { rm -f "$outage_flag"; }

bp_init
bp_config_append "
[[filter]]
plugin = \"faults\"
outage_file = \"$outage_flag\""
run_outage_test outage_on outage_off
grep -q 'outage begins' "$BP_LOG" || fail "the daemon log does not report the outage beginning"
grep -q 'outage ends' "$BP_LOG" || fail "the daemon log does not report the outage ending"
