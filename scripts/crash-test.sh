#!/usr/bin/env bash
# Crash safety: kill annalsd with SIGKILL at random moments while clients write, restart
# it, and check that every acknowledged write survived, `annals verify` passes (indexes
# agree with records, no change-log gaps), and DiffRevisions has every revision.
#
#   scripts/crash-test.sh [--kills N] [--sync] [--seed S] [--keep]
#
# Default 50 kills. Uses the binaries of ./build (BUILD_DIR=... for another build tree;
# --annalsd/--annals to name them), building nothing; Debian's python3-grpcio drives the
# writes through the generated annals.v1 stubs. CTest runs a 10-kill version as
# crash_test_short. The client and checks: tests/crash/crash_test.py.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
args=()
annalsd="$build/service/annalsd"
annals="$build/clients/cli/annals"
while [ $# -gt 0 ]; do
  case "$1" in
    --annalsd) annalsd=$2; shift 2 ;;
    --annals) annals=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
for bin in "$annalsd" "$annals"; do
  if [ ! -x "$bin" ]; then
    echo "crash-test: $bin is missing; build first (scripts/build.sh)" >&2
    exit 2
  fi
done
gen="$build/clients/python/gen"
if [ ! -f "$gen/annals/v1/ingest_pb2_grpc.py" ]; then
  echo "crash-test: $gen has no generated Python stubs; build first (ninja -C $build annals_python)" >&2
  exit 2
fi
export PYTHONPATH="$root/clients/python:$gen${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 "$root/tests/crash/crash_test.py" --annalsd "$annalsd" --annals "$annals" "${args[@]}"
