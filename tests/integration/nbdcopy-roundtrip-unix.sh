#!/usr/bin/env bash
# nbdcopy a 512 MiB random file in and back out over the Unix socket, compared byte for byte,
# before and after a restart (see tests/lib/nbdcopy-roundtrip.sh).
source "$(dirname "$0")/../lib/common.sh"
source "$BP_LIB_DIR/nbdcopy-roundtrip.sh"
run_nbdcopy_roundtrip bp_uri_unix
