# Remote object stores for the integration tests (sourced by common.sh). The same test script runs
# on the file backend, on S3 (Ceph RGW) and on Azure Blob (azurite): BP_TEST_BACKEND=s3|azure
# makes bp_init point the daemon at the shared test server that a ctest fixture started
# (server-rgw-start / server-azurite-start, state under BUILD_DIR/test-servers/<name>/), in a
# place of the test's own — a fresh prefix in the shared bucket on S3, a fresh container on
# Azure — so tests run in parallel without seeing each other's objects. The server's credentials
# are exported from the fixture's env file, which is how a user's daemon gets them too.
#
# What a test stored is deleted when it passes (the RGW OSD keeps objects in RAM); after a
# failure it stays for a post-mortem until the fixture stops the server. The admin clients
# (s3_admin.py, azure_admin.py) are independent of blockpipe's backends, so a test can look at
# or tamper with objects on any backend without trusting the code under test.
#
# Environment:
#   BP_TEST_BACKEND  file (default), s3 or azure
#   BP_SERVERS_DIR   where the fixtures keep their state (default BUILD_DIR/test-servers)

BP_TEST_BACKEND=${BP_TEST_BACKEND:-file}
BP_SERVERS_DIR=${BP_SERVERS_DIR:-$BUILD_DIR/test-servers}
case $BP_TEST_BACKEND in
  file) ;;
  # A variant of a generic test is named s3.<test> / azure.<test>; the backend's own tests
  # (s3-*, azure-*) set BP_TEST_BACKEND themselves and keep their name.
  s3 | azure) [[ $BP_TEST_NAME == "$BP_TEST_BACKEND"-* ]] || BP_TEST_NAME=$BP_TEST_BACKEND.$BP_TEST_NAME ;;
  *) printf 'BP_TEST_BACKEND must be file, s3 or azure (got %s)\n' "$BP_TEST_BACKEND" >&2; exit 2 ;;
esac

s3_admin() { timeout 300 "$PY" "$BP_LIB_DIR/s3_admin.py" "$@"; }
azure_admin() { timeout 300 "$PY" "$BP_LIB_DIR/azure_admin.py" "$@"; }

# Export a test server's settings (the env file its start script wrote) into this shell, so the
# admin clients and every daemon started from here see them: _use_server NAME PID_VARIABLE.
_use_server() {
  local name=$1 pid_var=$2 env_file=$BP_SERVERS_DIR/$1/env
  [[ -s $env_file ]] ||
    fail "the $name test server is not running ($env_file missing): run the test through ctest, which starts it (server-$name-start), or start it by hand with tests/servers/*/start.sh $BP_SERVERS_DIR/$name"
  set -a
  # shellcheck disable=SC1090
  source "$env_file"
  set +a
  kill -0 "${!pid_var}" 2>/dev/null || fail "the $name test server (pid ${!pid_var}) is not running any more"
}
use_rgw() { _use_server rgw RGW_PID; }
use_azurite() { _use_server azurite AZURITE_PID; }

# A name no other test run uses: the test's name, the shell's PID and randomness, in the
# alphabet both S3 keys and Azure container names accept (lowercase letters, digits, '-').
remote_unique_name() {
  local name
  name=$(tr -c 'a-z0-9\n' '-' <<<"${BP_TEST_NAME,,}" | tr -s '-')
  name=${name#-}
  name=${name:0:40}
  name=${name%-}
  printf '%s-%s-%04x%04x\n' "$name" "$$" "$RANDOM" "$RANDOM"
}

# Places to delete when the test passes: "s3 BUCKET PREFIX" or "azure CONTAINER".
BP_REMOTE_PLACES=()
register_s3_prefix() { BP_REMOTE_PLACES+=("s3 $1 $2"); }
register_azure_container() { BP_REMOTE_PLACES+=("azure $1"); }

# Called by the EXIT trap after every daemon is stopped (nothing may write any more).
remote_cleanup() {
  local rc=$1 place kind a b
  ((${#BP_REMOTE_PLACES[@]})) || return 0
  if [[ $rc != 0 && $rc != 77 ]] || [[ ${BP_KEEP_TMP:-0} == 1 ]]; then
    log "kept remote objects for a post-mortem: ${BP_REMOTE_PLACES[*]}"
    return 0
  fi
  for place in "${BP_REMOTE_PLACES[@]}"; do
    read -r kind a b <<<"$place"
    case $kind in
      s3) s3_admin delete-prefix "$a" "$b" >/dev/null || log "warning: could not delete s3://$a/$b/" ;;
      azure) azure_admin delete-container "$a" || log "warning: could not delete container $a" ;;
    esac
  done
}

# Sets BP_BACKEND_URL and BP_BACKEND_ENDPOINT for a new data dir on the backend under test, and
# BP_REMOTE_BUCKET/BP_REMOTE_PREFIX (S3) or BP_REMOTE_CONTAINER (Azure) for tests that look at
# the objects. On the file backend the URL is the data dir's own objects directory.
bp_backend_place() {
  local data_dir=$1
  BP_BACKEND_ENDPOINT=
  case $BP_TEST_BACKEND in
    file)
      BP_BACKEND_URL=file://$data_dir/objects
      ;;
    s3)
      use_rgw
      BP_REMOTE_BUCKET=$RGW_BUCKET
      BP_REMOTE_PREFIX=$(remote_unique_name)
      register_s3_prefix "$BP_REMOTE_BUCKET" "$BP_REMOTE_PREFIX"
      BP_BACKEND_URL=s3://$BP_REMOTE_BUCKET/$BP_REMOTE_PREFIX
      BP_BACKEND_ENDPOINT=$RGW_ENDPOINT
      ;;
    azure)
      use_azurite
      BP_REMOTE_CONTAINER=$(remote_unique_name)
      azure_admin create-container "$BP_REMOTE_CONTAINER" ||
        fail "could not create container $BP_REMOTE_CONTAINER on $AZURITE_BLOB_ENDPOINT"
      register_azure_container "$BP_REMOTE_CONTAINER"
      BP_BACKEND_URL=azure://$BP_REMOTE_CONTAINER/vol
      BP_BACKEND_ENDPOINT=$AZURITE_BLOB_ENDPOINT
      ;;
  esac
}

# For tests that read object files from the data dir: on a remote backend they must use the
# admin clients instead, or skip.
require_file_backend() {
  [[ $BP_TEST_BACKEND == file ]] || skip "looks at object files on disk (BP_TEST_BACKEND=$BP_TEST_BACKEND)"
}

# remote_object_count: how many objects the current data dir's volume store holds right now.
remote_object_count() {
  case $BP_TEST_BACKEND in
    file) find "$BP_DIR/objects" -type f ! -name '.bp-tmp-*' | wc -l ;;
    s3) s3_admin count "$BP_REMOTE_BUCKET" "$BP_REMOTE_PREFIX" | cut -d' ' -f1 ;;
    azure) azure_admin list "$BP_REMOTE_CONTAINER" | wc -l ;;
  esac
}

# remote_volume_bytes [VOLUME]: what the store holds under the volume's prefix right now (every
# object: metadata, owner record, segments, checkpoints, snapshot and clone records), in bytes,
# as the backend's own listing reports it — what `volume list` must call STORED.
remote_volume_bytes() {
  local volume=${1:-default}
  case $BP_TEST_BACKEND in
    file) find "$BP_DIR/objects/volumes/$volume" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}' ;;
    s3) s3_admin count "$BP_REMOTE_BUCKET" "$BP_REMOTE_PREFIX/volumes/$volume/" | cut -d' ' -f2 ;;
    azure) azure_admin list "$BP_REMOTE_CONTAINER" "vol/volumes/$volume/" | awk -F'\t' '{s += $2} END {print s + 0}' ;;
  esac
}
