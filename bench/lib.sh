# Shared by the benchmarks that run their own Ceph RGW (gc.sh, remote.sh, remote-targets.sh,
# snapshot-clone.sh): a private test-server directory in /dev/shm, starting that RGW, the EXIT
# trap that stops it by its state directory, and the load average noted beside each step.
# Source after tests/lib/common.sh. Callers set `out` to their results directory (or leave it
# empty: nothing is copied there then).

# bench_private_servers NAME: test servers' state under a fresh /dev/shm/NAME.XXXXXX (removed at
# exit), so a benchmark never shares the RGW or its objects with a test run.
bench_private_servers() {
  shm=$(mktemp -d "/dev/shm/$1.XXXXXX")
  register_path "$shm"
  BP_SERVERS_DIR=$shm/servers
  RGW_STATE=
  trap bench_cleanup EXIT
}

# bench_start_rgw LOG LIFETIME: a memstore Ceph RGW in $BP_SERVERS_DIR/rgw for at most LIFETIME
# (e.g. 3h); its start-up output goes to LOG.
bench_start_rgw() {
  RGW_STATE=$BP_SERVERS_DIR/rgw
  log "starting Ceph RGW (memstore) in $RGW_STATE"
  timeout 300 "$SOURCE_DIR/tests/servers/ceph-rgw/start.sh" "$RGW_STATE" "$2" >>"$1" 2>&1 ||
    fail "Ceph RGW did not start: $(tail -n 5 "$1")"
}

bench_cleanup() {
  local rc=$?
  set +e
  mounts_cleanup
  bp_cleanup_servers  # daemons first, so none retries against a store already gone
  # A script that runs other stores too (remote.sh: azurite) stops them in this hook.
  declare -F bench_stop_other_stores >/dev/null && bench_stop_other_stores
  if [[ -n $RGW_STATE ]]; then
    timeout 120 "$SOURCE_DIR/tests/servers/ceph-rgw/stop.sh" "$RGW_STATE" >/dev/null ||
      log "warning: ceph-rgw/stop.sh $RGW_STATE failed"
    RGW_STATE=
  fi
  BP_REMOTE_PLACES=()  # the OSD's objects went with it
  [[ -n ${out:-} && -n $BP_LOG && -f $BP_LOG ]] && cp "$BP_LOG" "$out/daemon.log"
  (exit "$rc")
  bp_cleanup
}

load() { cut -d' ' -f1-3 /proc/loadavg; }
# note STEP: the load average at the start of a step, into $out/loads.txt and the log.
note() { echo "$1 $(load)" >>"$out/loads.txt"; log "$1 (load $(load))"; }
