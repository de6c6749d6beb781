#!/usr/bin/env bash
# The cluster under faults (tests/cluster/cluster_test.py): 3 etcd members and 3 annalsd
# replicas on 127.0.0.1, writers with request ids, one fault at a time, every check after
# each. Without arguments each scenario runs once (as CTest's cluster_end_to_end does).
#
#   scripts/cluster-test.sh                 # each of the five scenarios once
#   scripts/cluster-test.sh --faults 50     # 50 faults picked at random (--seed K)
#   scripts/cluster-test.sh --faults 50 --report bench/results/DATE-cluster-faults.md
#
# Needs the built binaries (scripts/build.sh) and etcd (scripts/deps.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
exec /usr/bin/python3 tests/cluster/cluster_test.py --annalsd "$build/service/annalsd" \
  --annals "$build/clients/cli/annals" "$@"
