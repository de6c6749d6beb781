#!/usr/bin/env bash
# Installs the Debian 12 packages Annals builds and tests with; skips what is there.
# One source of truth for the README, CI and (later) the container image.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  protobuf-compiler libprotobuf-dev protobuf-compiler-grpc libgrpc++-dev
  librocksdb-dev libabsl-dev libicu-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev nlohmann-json3-dev
  python3 python3-grpcio python3-protobuf python3-pytest
  nodejs
  prometheus-cpp-dev python3-yaml
  libssl-dev openssl
  libjemalloc-dev
  zlib1g-dev
  etcd-server etcd-client
)
# The fuzz build (tests/fuzz/, -DANNALS_FUZZ=ON) needs clang and its libFuzzer runtime;
# ANNALS_FUZZ=1 scripts/deps.sh adds them (fuzz_smoke is skipped without them).
if [ "${ANNALS_FUZZ:-0}" = 1 ]; then PACKAGES+=(clang libclang-rt-14-dev); fi
# npm: Debian's package, unless npm is already there (NodeSource's nodejs bundles it and
# conflicts with Debian's npm package).
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
echo "deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
