#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit, storage, service, CLI end to
# end, seed data, the repository's own checks). This is what CI runs. Extra arguments go to
# ctest (for example -R store_test). At the end it lists every skipped test with its reason.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scripts/deps.sh
scripts/build.sh
build="${BUILD_DIR:-build}"
cd "$build"
junit="$PWD/ctest-junit.xml"
status=0
# Whole outputs in the JUnit file (ctest keeps 1 KiB of a passing test by default), so the
# skip list below also finds the skips inside passing script tests.
ctest --output-on-failure --timeout 600 --output-junit "$junit" \
  --test-output-size-passed 1048576 --test-output-size-failed 1048576 "$@" || status=$?
/usr/bin/python3 "$root/scripts/list-skips.py" "$junit" || true
exit "$status"
