#!/usr/bin/env bash
# Installs every Debian 12 package blockpipe needs to build, test and benchmark: the compiler and
# build tools, the libraries the daemon and plugins link, and the real NBD clients, peer servers
# and filesystem tools the integration tests drive, and the object stores the S3 and Azure tests
# run on loopback: a single-node Ceph with its S3 gateway (radosgw, ceph-mon, ceph-osd; ~235 MB),
# and from npm, pinned by the lockfiles committed next to their start scripts, Microsoft's azurite
# and s3rver (tests/servers/*/node_modules). Idempotent: apt-get skips what is present, `npm ci`
# reinstalls exactly the locked versions. (nbdfuse ships in libnbd-bin on Debian 12; libfuse3-3
# comes with it.)
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
  sudo=sudo
else
  sudo=
fi

export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends \
  build-essential cmake ninja-build pkg-config libboost-dev libboost-filesystem-dev libtoml11-dev libcurl4-openssl-dev libssl-dev liblz4-dev libzstd-dev libsodium-dev libsqlite3-dev libgtest-dev libgmock-dev libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libpugixml-dev libnbd-bin python3 python3-libnbd nbdkit qemu-utils fio e2fsprogs xfsprogs btrfs-progs util-linux procps openssl clang libclang-rt-14-dev clang-format-14 \
  >/dev/null
$sudo apt-get install -y -qq --no-install-recommends radosgw ceph-mon ceph-osd >/dev/null

# Node.js and npm for the npm-packaged test servers: Debian's, unless a node is already installed
# (e.g. a newer one from another source, which brings its own npm).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
cd "$(dirname "$0")/.."
for server in tests/servers/azurite tests/servers/s3rver; do
  if [[ -f $server/package-lock.json ]]; then
    (cd "$server" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
done
