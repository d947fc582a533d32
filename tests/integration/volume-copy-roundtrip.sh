#!/usr/bin/env bash
# A volume travels file → S3 (Ceph RGW) → Azure Blob (azurite) with `blockpipe volume copy` and
# is served from each store with the same sha256 over the whole device as the original. On the
# way, repeating a completed copy between the two remote stores writes nothing (every object is
# compared by content on both services), and the source stays servable. Needs the ctest
# fixtures rgw and azurite (the test servers of tests/servers/).
source "$(dirname "$0")/../lib/common.sh"
require_blockpipe
require_cmd nbdcopy sha256sum
source "$BP_LIB_DIR/volume_copy.sh"
use_rgw
use_azurite

# ---- the original on the file backend: random data and scattered unaligned writes ----
bp_init
bp_config_sed 's/^segment_size = .*/segment_size = "2MiB"/'
bp_config_sed 's/^size = "1GiB"$/size = "128MiB"/'
bp_run
make_random_file "$BP_TMP/data.bin" 32 11
timeout 120 nbdcopy "$BP_TMP/data.bin" "$(bp_uri_unix)" || fail "nbdcopy into the original failed"
timeout 120 "$PY" "$BP_LIB_DIR/pattern_io.py" write "$(bp_uri_unix)" 10 300 || fail "pattern write failed"
original_sha=$(sha_of "$BP_SOCK" default)
stop_blockpipe
log "original: sha256 $original_sha"

# ---- file → S3 ----
s3_prefix=$(remote_unique_name)
register_s3_prefix "$RGW_BUCKET" "$s3_prefix"
new_store "$BP_TMP/s3" --url "s3://$RGW_BUCKET/$s3_prefix" --endpoint "$RGW_ENDPOINT"
volume_copy default --config "$BP_CONFIG" --to-config "$BP_TMP/s3/blockpipe.toml" --jobs 8 \
  >"$BP_TMP/to-s3.out" 2>"$BP_TMP/to-s3.err" || fail "copy to S3 failed: $(tail -n 3 "$BP_TMP/to-s3.err")"
cat "$BP_TMP/to-s3.out" >&2
grep -q "verified: both listings match" "$BP_TMP/to-s3.out" || fail "copy to S3 not verified"
count=$(s3_admin count "$RGW_BUCKET" "$s3_prefix" | cut -d' ' -f1)
local_count=$(find "$BP_DIR/objects/volumes/default" -type f ! -path '*/quarantine/*' ! -name owner | wc -l)  # the ownership record stays behind
[[ $count == "$local_count" ]] || fail "S3 holds $count objects, the original $local_count"

# ---- S3 → Azure ----
container=$(remote_unique_name)
azure_admin create-container "$container" || fail "could not create container $container"
register_azure_container "$container"
new_store "$BP_TMP/azure" --url "azure://$container/vol" --endpoint "$AZURITE_BLOB_ENDPOINT"
volume_copy default --config "$BP_TMP/s3/blockpipe.toml" --to-config "$BP_TMP/azure/blockpipe.toml" --jobs 8 \
  >"$BP_TMP/to-azure.out" 2>"$BP_TMP/to-azure.err" ||
  fail "copy to Azure failed: $(tail -n 3 "$BP_TMP/to-azure.err")"
cat "$BP_TMP/to-azure.out" >&2
out=$(volume_copy default --config "$BP_TMP/s3/blockpipe.toml" --to-config "$BP_TMP/azure/blockpipe.toml" 2>&1) ||
  fail "repeating the S3 → Azure copy failed: $out"
grep -q "nothing was written" <<<"$out" || fail "repeating the copy did not find it identical: $out"

# ---- served from Azure, then from S3, then the original: the same bytes everywhere ----
start_store "$BP_TMP/azure"
azure_sha=$(sha_of "$BP_TMP/azure/nbd.sock" default)
stop_store
[[ $azure_sha == "$original_sha" ]] || fail "Azure serves other bytes ($azure_sha)"
start_store "$BP_TMP/s3"
s3_sha=$(sha_of "$BP_TMP/s3/nbd.sock" default)
stop_store
[[ $s3_sha == "$original_sha" ]] || fail "S3 serves other bytes ($s3_sha)"
bp_run
[[ $(sha_of "$BP_SOCK" default) == "$original_sha" ]] || fail "the original changed"
stop_blockpipe
log "file → S3 → Azure: the same sha256 from all three stores"
