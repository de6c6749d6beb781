#!/usr/bin/env bash
# Rehearses a rolling upgrade of a cluster (issue #18): builds annalsd at REF (the release
# running now) in a temporary git worktree, starts 3 etcd members and 3 replicas on it,
# and, while writers with request ids send to every replica, rolls the replicas one by one
# (highest ordinal first, as a StatefulSet does) onto this checkout's annalsd. Every check
# of tests/cluster/cluster_test.py applies after each step: no acknowledged write lost or
# doubled, the same graph and change feed on every replica, the longest time without an
# acknowledged write, `annals verify` and one state digest at the end.
#
#   scripts/upgrade-rehearsal.sh [REF] [--report FILE]   # REF defaults to HEAD~1
#
# Not part of CI (it builds annalsd twice). Needs git, the build dependencies, and etcd.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REF=HEAD~1 REPORT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --report) REPORT="$2"; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) REF="$1" ;;
  esac
  shift
done
OLD=$(mktemp -d /tmp/annals-upgrade.XXXXXX)
cleanup() { git -C "$ROOT" worktree remove --force "$OLD" 2>/dev/null || rm -rf "$OLD"; }
trap cleanup EXIT
git -C "$ROOT" worktree add --detach "$OLD" "$REF" >/dev/null
echo "upgrade-rehearsal: building annalsd at $(git -C "$OLD" log -1 --format='%h %s' | cut -c1-72)" >&2
cmake -S "$OLD" -B "$OLD/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$OLD/build" annalsd >/dev/null
echo "upgrade-rehearsal: building this checkout" >&2
"$ROOT/scripts/build.sh" >/dev/null
args=(--annalsd-before "$OLD/build/service/annalsd" --annalsd "$ROOT/build/service/annalsd"
      --annals "$ROOT/build/clients/cli/annals" --scenarios annals_leader,upgrade,annals_leader,rolling,wipe_follower)
[ -z "$REPORT" ] || args+=(--report "$REPORT")
/usr/bin/python3 "$ROOT/tests/cluster/cluster_test.py" "${args[@]}"
