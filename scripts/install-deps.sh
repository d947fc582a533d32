#!/usr/bin/env bash
# Installs every Debian 12 package blockpipe needs to build, test and benchmark: the compiler and
# build tools, the libraries the daemon and plugins link, and the real NBD clients, peer servers
# and filesystem tools the integration tests drive. Idempotent: apt-get skips what is present.
# (nbdfuse ships in libnbd-bin on Debian 12; libfuse3-3 comes with it.)
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
  sudo=sudo
else
  sudo=
fi

export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends \
  build-essential cmake ninja-build pkg-config libboost-dev libboost-filesystem-dev libtoml11-dev libcurl4-openssl-dev libssl-dev liblz4-dev libzstd-dev libsodium-dev libsqlite3-dev libgtest-dev libgmock-dev libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libpugixml-dev libnbd-bin python3 python3-libnbd nbdkit qemu-utils fio e2fsprogs xfsprogs btrfs-progs util-linux procps clang libclang-rt-14-dev \
  >/dev/null
