#!/usr/bin/env bash
# A quick A/B harness for issues #19 and #20, lighter than scripts/bench.sh (no PostgreSQL):
# loads ICEWS05-15 through Ingest at 1x and 10x (annals_bench load --replicas), then runs,
# for each annalsd binary given (default: the build's), BASIC neighbours and the empty RPC
# at 1/2/8/32 in flight on both scales, and Traverse and FindPaths at one in flight on 1x.
# Prints RESULT lines tagged with the binary and the scale.
#
#   bench/ab_neighbors_graph.sh [ANNALSD ...]       # needs ~3 GB under ${TMPDIR:-/tmp}
#   SECS=5 SCALES="1" bench/ab_neighbors_graph.sh   # seconds per measurement; scales to load
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/build/bench/annals_bench
[ $# -gt 0 ] || set -- "$ROOT/build/service/annalsd"
W=$(mktemp -d "${TMPDIR:-/tmp}/annals-ab.XXXXXX")
trap 'rm -rf "$W"' EXIT
ADDR=127.0.0.1:${PORT:-50778}
FILES=""
for part in train valid test; do
  gzip -cd "$ROOT/data/icews05-15/$part.tsv.gz" > "$W/$part.tsv"
  FILES+="$W/$part.tsv,"
done
FILES=${FILES%,}
query() {  # BINARY SCALE WORKLOAD CONCURRENCY PID
  "$BENCH" query --addr "$ADDR" --entities "$W/entities$2.tsv" --predicates "$W/predicates.txt" --workload "$3" \
    --view basic --concurrency "$4" --seconds "${SECS:-5}" --warmup 2 --years 2005:2014 --server-pid "$5" 2>/dev/null |
    sed "s|^RESULT kind=query |RESULT binary=$(basename "$1") scale=$2 |"
}
for scale in ${SCALES:-1 10}; do
  "$1" --db "$W/db$scale" --listen "$ADDR" --metrics-listen "" > "$W/load$scale.log" 2>&1 &
  pid=$!; sleep 2
  "$BENCH" load --addr "$ADDR" --data "$FILES" --replicas "$scale" --entities-out "$W/entities$scale.tsv" \
    --predicates-out "$W/predicates.txt" 2>/dev/null | sed "s|^RESULT |RESULT scale=$scale |"
  kill "$pid"; wait "$pid" || true
  sync
  for bin in "$@"; do
    "$bin" --db "$W/db$scale" --listen "$ADDR" --metrics-listen "" > "$W/serve.log" 2>&1 &
    pid=$!; sleep 3
    for c in 1 2 8 32; do
      query "$bin" "$scale" neighbors "$c" "$pid"
      query "$bin" "$scale" health "$c" "$pid"
    done
    if [ "$scale" = 1 ]; then
      query "$bin" 1 traverse 1 "$pid"
      query "$bin" 1 paths 1 "$pid"
    fi
    kill "$pid"; wait "$pid" || true
  done
  echo "RESULT scale=$scale disk_bytes=$(du -sb "$W/db$scale" | cut -f1)"
done
