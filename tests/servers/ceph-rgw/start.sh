#!/usr/bin/env bash
# Starts a private single-node Ceph cluster with an S3 gateway (radosgw) on 127.0.0.1, for the
# integration tests of the S3 backend: a real S3 implementation that checks SigV4 signatures and
# payload hashes and honours `If-None-Match: *`. One monitor, one OSD keeping objects in RAM
# (memstore, so nothing touches the disk and a stop frees everything), cluster auth off, pools of
# size 1. Every port is picked free at start, so several instances (parallel CI jobs, a developer's
# own) never collide, and every daemon runs under `timeout LIFETIME` so nothing outlives a crashed
# test run for long. All waits are bounded.
#
#   start.sh STATE_DIR [LIFETIME]
#       Start the cluster and its gateway in STATE_DIR (wiped first), create a user and the test
#       bucket, and write STATE_DIR/env (shell-sourceable): RGW_ENDPOINT, RGW_PORT, RGW_BUCKET,
#       AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, CEPH_CONF, MON_PID, OSD_PID, RGW_PID.
#   start.sh --extra-rgw STATE_DIR OUT_DIR [PORT] [LIFETIME]
#       Start one more gateway on the running cluster (on PORT, or a free one), for a test that
#       kills and restarts its own gateway without disturbing tests that share the main one.
#       Writes OUT_DIR/env with the same variables (RGW_PID being this gateway's).
#
# Stop with stop.sh STATE_DIR (or stop.sh OUT_DIR for an extra gateway). LIFETIME is a timeout(1)
# duration, default 3h. MEMSTORE_BYTES (default 8 GiB) caps what the OSD may hold; tests delete
# their prefix when they pass so the suite stays far below it.
set -euo pipefail

readonly HERE=$(cd "$(dirname "$0")" && pwd)
readonly S3_ADMIN=$HERE/../../lib/s3_admin.py
readonly PY=/usr/bin/python3
readonly BUCKET=blockpipe-tests
# RGW accepts any region in the signature scope as long as the signature is consistent; the
# conventional AWS default keeps clients' defaults working.
readonly REGION=us-east-1
readonly MEMSTORE_BYTES=${MEMSTORE_BYTES:-8589934592}

die() {
  echo "ceph-rgw/start.sh: $*" >&2
  exit 1
}

usage() {
  sed -n '9,18p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

for tool in ceph ceph-mon ceph-osd radosgw radosgw-admin ceph-authtool monmaptool; do
  command -v "$tool" >/dev/null ||
    die "$tool is missing: install radosgw ceph-mon ceph-osd (scripts/install-deps.sh)"
done

# A TCP port nobody listens on right now, different from the ones in $* (already chosen).
free_port() {
  "$PY" - "$@" <<'EOF'
import socket, sys
taken = set(sys.argv[1:])
while True:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = str(s.getsockname()[1])
    s.close()
    if port not in taken:
        print(port)
        break
EOF
}

random_token() { # LENGTH ALPHABET
  "$PY" -c 'import secrets, sys
print("".join(secrets.choice(sys.argv[2]) for _ in range(int(sys.argv[1]))))' "$1" "$2"
}

# Any HTTP answer on the port means the gateway's frontend is up.
http_answers() {
  "$PY" -c 'import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=3)
c.request("GET", "/")
c.getresponse().read()' "$1" 2>/dev/null
}

# wait_for SECONDS WHAT PID CMD...: poll CMD; fail early if PID (the daemon it waits for) died.
wait_for() {
  local seconds=$1 what=$2 pid=$3
  shift 3
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || return 1
    ((SECONDS < deadline)) || { echo "timed out after ${seconds}s waiting for $what" >&2; return 1; }
    sleep 0.5
  done
}

# launch NAME LIFETIME LOGFILE CMD...: run a daemon in the foreground mode under timeout(1), in
# its own session so a terminal's signals do not reach it, with no inherited stdio (ctest waits
# for the pipes of everything a test started to close). Prints the wrapper's PID.
launch() {
  local name=$1 lifetime=$2 logfile=$3
  shift 3
  setsid timeout "$lifetime" "$@" </dev/null >"$logfile" 2>&1 &
  echo $!
}

# The daemon's own PID: the child of its timeout(1) wrapper, once forked.
daemon_pid() {
  local wrapper=$1 deadline=$((SECONDS + 30)) pid
  until pid=$(pgrep -P "$wrapper"); do
    kill -0 "$wrapper" 2>/dev/null || return 1
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
  echo "$pid"
}

write_env() { # FILE NAME=VALUE...
  local file=$1 pair
  shift
  : >"$file.tmp"
  for pair in "$@"; do
    printf 'export %s=%q\n' "${pair%%=*}" "${pair#*=}" >>"$file.tmp"
  done
  mv "$file.tmp" "$file"
}

# Record a PID for stop.sh at once, so a start that fails half way can still be cleaned up. An
# extra gateway's PIDs go to its own list as well as the cluster's (stopping the cluster stops
# every gateway on it).
PID_LISTS=()
record_pid() {
  local list
  for list in "${PID_LISTS[@]}"; do
    echo "$2 $1 $CONF" >>"$list"
  done
}

show_logs() {
  local f
  for f in "$STATE"/log/*; do
    [[ -s $f ]] || continue
    echo "---- $f (last 15 lines) ----" >&2
    tail -n 15 "$f" >&2
  done
}

start_gateway() { # NAME PORT LIFETIME: starts radosgw, waits until it answers, sets RGW_PID
  local name=$1 port=$2 lifetime=$3 wrapper
  wrapper=$(launch "$name" "$lifetime" "$STATE/log/$name.out" \
    radosgw -c "$CONF" -n "client.$name" -f \
    --rgw_frontends "beast endpoint=127.0.0.1:$port" \
    --rgw_data "$STATE/rgw/$name" \
    --admin_socket "$STATE/run/$name.asok" \
    --log_file "$STATE/log/$name.log")
  record_pid "$name-wrapper" "$wrapper"
  RGW_PID=$(daemon_pid "$wrapper") || { show_logs; die "radosgw $name did not start"; }
  record_pid "$name" "$RGW_PID"
  wait_for 120 "radosgw $name on port $port" "$RGW_PID" http_answers "$port" ||
    { show_logs; die "radosgw $name is not answering on 127.0.0.1:$port"; }
}

start_cluster() {
  local lifetime=$1
  local mon_v2 mon_v1 rgw_port fsid osd_uuid osd_id wrapper
  mon_v2=$(free_port)
  mon_v1=$(free_port "$mon_v2")
  rgw_port=$(free_port "$mon_v2" "$mon_v1")
  fsid=$(cat /proc/sys/kernel/random/uuid)
  mkdir -p "$STATE"/{run,log,mon,osd,rgw}

  # Auth is off (a throwaway loopback cluster), but with auth "none" the messenger still has to
  # agree on a mode: radosgw cannot reach the monitor unless every ms_*_mode is crc. One OSD
  # means size-1 pools, which the monitor refuses unless told that is intended.
  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon_host = [v2:127.0.0.1:$mon_v2,v1:127.0.0.1:$mon_v1]
public_network = 127.0.0.0/8
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_mon_client_mode = crc
ms_mon_service_mode = crc
ms_client_mode = crc
ms_service_mode = crc
ms_cluster_mode = crc
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_crush_chooseleaf_type = 0
osd_pool_default_pg_autoscale_mode = off
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
mon_max_pg_per_osd = 1000
mon_data_avail_warn = 2
mon_data_avail_crit = 1
# RGW frees a deleted object's data (its tail RADOS objects) through its own garbage collector,
# by default no sooner than two hours later: the memstore OSD would keep every deleted byte in
# RAM for the whole run and, once full, leave requests hanging. Free them within seconds, as a
# real S3 stops charging for a deleted object at once.
rgw_gc_obj_min_wait = 0
rgw_gc_processor_period = 5
run_dir = $STATE/run
admin_socket = $STATE/run/\$cluster-\$name.asok
log_file = $STATE/log/\$cluster-\$name.log
keyring = $STATE/keyring
# The tails of deleted objects (past the first 4 MiB) go to RGW's garbage collector, which by
# default waits 2 h before freeing them: on a memstore OSD every deleted or overwritten segment
# would hold its RAM that long. Collect within seconds instead.
rgw_gc_obj_min_wait = 5
rgw_gc_processor_period = 10
rgw_gc_processor_max_time = 10

[mon]
mon_data = $STATE/mon/\$cluster-\$id

[osd]
osd_data = $STATE/osd/\$cluster-\$id
osd_objectstore = memstore
memstore_device_bytes = $MEMSTORE_BYTES
EOF
  echo "$rgw_port" >"$STATE/rgw-port"

  ceph-authtool --create-keyring "$STATE/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --addv a "[v2:127.0.0.1:$mon_v2,v1:127.0.0.1:$mon_v1]" --fsid "$fsid" \
    "$STATE/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$STATE/monmap" --keyring "$STATE/keyring" \
    >"$STATE/log/mon-mkfs.out" 2>&1 || { show_logs; die "ceph-mon --mkfs failed"; }
  wrapper=$(launch mon "$lifetime" "$STATE/log/mon.out" ceph-mon -c "$CONF" -i a -f)
  record_pid mon-wrapper "$wrapper"
  MON_PID=$(daemon_pid "$wrapper") || { show_logs; die "ceph-mon did not start"; }
  record_pid mon "$MON_PID"
  wait_for 60 "the monitor" "$MON_PID" timeout 20 ceph -c "$CONF" --connect-timeout 15 -s ||
    { show_logs; die "the monitor does not answer on 127.0.0.1:$mon_v2"; }

  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  osd_id=$(timeout 60 ceph -c "$CONF" --connect-timeout 30 osd new "$osd_uuid") || die "ceph osd new failed"
  mkdir -p "$STATE/osd/ceph-$osd_id"
  timeout 60 ceph-osd -c "$CONF" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" >"$STATE/log/osd-mkfs.out" 2>&1 ||
    { show_logs; die "ceph-osd --mkfs failed"; }
  wrapper=$(launch osd "$lifetime" "$STATE/log/osd.out" ceph-osd -c "$CONF" -i "$osd_id" -f)
  record_pid osd-wrapper "$wrapper"
  OSD_PID=$(daemon_pid "$wrapper") || { show_logs; die "ceph-osd did not start"; }
  record_pid osd "$OSD_PID"
  osd_up() { [[ $(timeout 20 ceph -c "$CONF" --connect-timeout 15 osd stat -f json) == *'"num_up_osds":1'* ]]; }
  wait_for 90 "the OSD to be up" "$OSD_PID" osd_up || { show_logs; die "the OSD did not come up"; }

  start_gateway rgw.main "$rgw_port" "$lifetime"

  AWS_ACCESS_KEY_ID=$(random_token 20 ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789)
  AWS_SECRET_ACCESS_KEY=$(random_token 40 abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789)
  timeout 120 radosgw-admin -c "$CONF" user create --uid=blockpipe-tests --display-name="blockpipe tests" \
    --access-key="$AWS_ACCESS_KEY_ID" --secret-key="$AWS_SECRET_ACCESS_KEY" >"$STATE/log/user-create.out" 2>&1 ||
    { show_logs; die "radosgw-admin user create failed"; }

  write_env "$STATE/env" \
    "RGW_ENDPOINT=http://127.0.0.1:$rgw_port" "RGW_PORT=$rgw_port" "RGW_BUCKET=$BUCKET" \
    "AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID" "AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY" \
    "AWS_REGION=$REGION" "CEPH_CONF=$CONF" "MON_PID=$MON_PID" "OSD_PID=$OSD_PID" "RGW_PID=$RGW_PID"

  # The user's key can take a moment to be visible to the gateway: retry the first request.
  local deadline=$((SECONDS + 60)) out
  until out=$(env -i PATH="$PATH" bash -c "source '$STATE/env' && '$PY' '$S3_ADMIN' create-bucket $BUCKET" 2>&1); do
    ((SECONDS < deadline)) || { show_logs; die "could not create bucket $BUCKET: $out"; }
    sleep 1
  done
}

start_extra_gateway() { # OUT_DIR PORT LIFETIME
  local out=$1 port=$2 lifetime=$3
  [[ -s $STATE/env ]] || die "no cluster in $STATE (run start.sh $STATE first)"
  # shellcheck disable=SC1091
  source "$STATE/env"
  kill -0 "$MON_PID" 2>/dev/null || die "the cluster in $STATE is not running"
  mkdir -p "$out"
  [[ -n $port ]] || port=$(free_port "$RGW_PORT")
  # A name of its own: two gateways must not share an admin socket, pid file or log.
  local name=rgw.x$port
  start_gateway "$name" "$port" "$lifetime"
  write_env "$out/env" \
    "RGW_ENDPOINT=http://127.0.0.1:$port" "RGW_PORT=$port" "RGW_BUCKET=$RGW_BUCKET" \
    "AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID" "AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY" \
    "AWS_REGION=$AWS_REGION" "CEPH_CONF=$CEPH_CONF" "RGW_PID=$RGW_PID" "RGW_LOG=$STATE/log/$name.log"
  echo "extra radosgw ready: http://127.0.0.1:$port (pid $RGW_PID)"
}

if [[ ${1:-} == --extra-rgw ]]; then
  [[ $# -ge 3 ]] || usage
  STATE=$(realpath -m "$2")
  CONF=$STATE/ceph.conf
  out=$(realpath -m "$3")
  mkdir -p "$out"
  rm -f "$out/env"
  : >"$out/pids"
  PID_LISTS=("$STATE/pids" "$out/pids")
  trap '[[ $? == 0 ]] || "$HERE/stop.sh" "$out" >/dev/null 2>&1' EXIT
  start_extra_gateway "$out" "${4:-}" "${5:-3h}"
  exit 0
fi

[[ $# -ge 1 && $1 != -* ]] || usage
STATE=$(realpath -m "$1")
CONF=$STATE/ceph.conf
LIFETIME=${2:-3h}
# The directory is wiped: refuse one that holds anything but an earlier instance of ours.
if [[ -d $STATE && -n $(ls -A "$STATE") && ! -f $STATE/ceph.conf && ! -f $STATE/pids ]]; then
  die "$STATE is not empty and holds no earlier test cluster; refusing to wipe it"
fi
if [[ -s $STATE/pids ]]; then
  "$HERE/stop.sh" "$STATE" >/dev/null 2>&1 || true
fi
rm -rf "$STATE"
mkdir -p "$STATE"
: >"$STATE/pids"
PID_LISTS=("$STATE/pids")
trap '[[ $? == 0 ]] || "$HERE/stop.sh" "$STATE" >/dev/null 2>&1' EXIT
started=$SECONDS
start_cluster "$LIFETIME"
echo "radosgw ready in $((SECONDS - started))s: $(grep RGW_ENDPOINT "$STATE/env" | cut -d= -f2) bucket $BUCKET (state $STATE)"
