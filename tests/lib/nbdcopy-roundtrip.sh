# The body of the nbdcopy-roundtrip-* tests (sourced after common.sh): copy a 512 MiB random file
# (BP_NBDCOPY_MIB; the remote-backend variants use less) into the default 1 GiB volume with
# nbdcopy (4 connections, flushed at the end), copy the whole volume back out, and compare byte
# for byte — the first 512 MiB with the input, the rest with zeros. The copy-out runs twice:
# once while the data may still sit in the daemon's buffers and caches, and once after a clean
# restart, when every byte must come back from the object store.

# run_nbdcopy_roundtrip URI_FUNCTION — bp_uri_unix or bp_uri_tcp.
run_nbdcopy_roundtrip() {
  local uri_fn=$1
  require_cmd nbdcopy cmp
  local mib=${BP_NBDCOPY_MIB:-512}
  local in=$BP_TMP/in.bin out=$BP_TMP/out.bin

  start_blockpipe
  local uri
  uri=$($uri_fn)
  local volume_size
  volume_size=$(nbdinfo --size "$uri")
  ((volume_size >= mib << 20)) || fail "volume is $volume_size bytes, need at least $mib MiB"

  make_random_file "$in" "$mib" 512
  log "copying $mib MiB in to $uri"
  timeout 300 nbdcopy --flush "$in" "$uri" || fail "nbdcopy in failed"

  copy_out_and_compare() {
    rm -f "$out"
    timeout 300 nbdcopy "$uri" "$out" || fail "nbdcopy out failed ($1)"
    [[ $(stat -c %s "$out") == "$volume_size" ]] || fail "copied out $(stat -c %s "$out") bytes, expected $volume_size ($1)"
    cmp -n $((mib << 20)) "$in" "$out" || fail "data differs from the input ($1)"
    cmp -n $((volume_size - (mib << 20))) <(tail -c +$(((mib << 20) + 1)) "$out") /dev/zero ||
      fail "bytes past the copied data are not zero ($1)"
    log "copied out $volume_size bytes, identical ($1)"
  }
  copy_out_and_compare "while running"
  restart_blockpipe
  uri=$($uri_fn)
  copy_out_and_compare "after restart"
}
