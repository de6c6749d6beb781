#!/usr/bin/env bash
# What a merge costs (issue #21), on a database an ICEWS load made (scripts/bench.sh keeps
# one; or `annals_bench load --entities-out`):
#
#   bench/merge_bench.sh DB ENTITIES_TSV [MERGED_ID] [SECONDS]
#
# Copies DB to a temporary directory, starts the built annalsd on it, and measures, one
# request in flight:
#   1. Neighbors of MERGED_ID (default: the entity with the most relations) before any merge;
#   2. the MergeEntities call that merges it into a new entity made for it (as a user merges
#      an imported spelling into a hand-made entity), timed end to end by the CLI;
#   3. Neighbors of the survivor after the merge (it reads the merged entity's relations
#      through the redirect), and of the merged id (redirected the same way);
#   4. the UnmergeEntity call.
# The Neighbors request is annals_bench's `busiest` one (both directions, March to October
# 2014, 100 results, BASIC view).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$here/build}
db=${1:?database directory}
entities=${2:?entities TSV (id, label, relations)}
merged=${3:-$(sort -t$'\t' -k3 -n -r "$entities" | head -1 | cut -f1)}
seconds=${4:-10}
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
cp -r "$db" "$work/db"
port=$((50000 + RANDOM % 10000))
addr=127.0.0.1:$port
"$build/service/annalsd" --db "$work/db" --listen "$addr" --metrics-listen "" > "$work/annalsd.log" 2>&1 &
pid=$!
for _ in $(seq 50); do "$build/clients/cli/annals" --addr "$addr" search a > /dev/null 2>&1 && break; sleep 0.2; done
degree=$(awk -F'\t' -v id="$merged" '$1 == id { print $3 }' "$entities")
echo "merged entity: $merged ($degree relations in the load)"

neighbors() {  # $1: the entity asked for
  printf '%s\t%s\t%s\n' "$1" "$1" "$degree" > "$work/one.tsv"
  "$build/bench/annals_bench" query --addr "$addr" --entities "$work/one.tsv" --predicates /dev/null \
    --workload busiest --view basic --concurrency 1 --seconds "$seconds" --warmup 1 --server-pid "$pid" 2>/dev/null |
    grep -o 'p50_ms=[0-9.]* p99_ms=[0-9.]*'
}
timed() {  # runs the CLI, prints its wall time in ms
  local t0 t1
  t0=$(date +%s%N)
  "$build/clients/cli/annals" --addr "$addr" "$@" > "$work/out.txt"
  t1=$(date +%s%N)
  echo "$(( (t1 - t0) / 1000000 )) ms: $(head -1 "$work/out.txt")"
}

echo "before: Neighbors($merged)        $(neighbors "$merged")"
"$build/clients/cli/annals" --addr "$addr" entity put "$merged-survivor" --label "Survivor of $merged" > /dev/null
echo "a CLI read, for the process's own cost: $(timed entity get "$merged-survivor")"
echo "merge:  $(timed entity merge "$merged-survivor" "$merged")"
echo "after:  Neighbors($merged-survivor) $(neighbors "$merged-survivor")"
echo "after:  Neighbors($merged)        $(neighbors "$merged")"
echo "unmerge: $(timed entity unmerge "$merged")"
echo "after unmerge: Neighbors($merged) $(neighbors "$merged")"
