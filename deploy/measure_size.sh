#!/usr/bin/env bash
# Measures what sizing needs: bytes on disk per relation and annalsd's peak memory, by
# loading data/seed (--load) and a TSV of ICEWS-style quadruples through `annals import
# --format icews` into a fresh database. Usage:
#   deploy/measure_size.sh [ICEWS_TSV]   (default: data/icews14/train.tsv.gz; gzip or plain)
# Needs the built binaries (scripts/build.sh). Prints one line per figure.
set -euo pipefail
cd "$(dirname "$0")/.."
tsv=${1:-data/icews14/train.tsv.gz}
build=${BUILD_DIR:-build}
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
"$build/service/annalsd" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 --db "$work/db" --load data/seed \
  >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 600); do grep -q "metrics on" "$work/out" 2>/dev/null && break; sleep 0.1; done
addr=$(sed -n 's/^annalsd: serving on \([^ ]*\) .*/\1/p' "$work/out")
metrics=$(sed -n 's/^annalsd: metrics on //p' "$work/out")
annals() { "$build/clients/cli/annals" --addr "$addr" --timeout 600 "$@"; }
start=$(date +%s%N)
annals import --format icews "$tsv" >"$work/import.log" 2>&1 || { cat "$work/import.log"; exit 1; }
end=$(date +%s%N)
annals admin backup "$work/flushed" >/dev/null   # flushes the memtables, so SST sizes are final
scrape=$(python3 -c "import urllib.request,sys;print(urllib.request.urlopen(sys.argv[1]).read().decode())" "$metrics")
value() { echo "$scrape" | awk -v k="$1" '$1==k {print $2}'; }
relations=$(value 'annals_rows_written_total{kind="relation"}')
entities=$(value 'annals_rows_written_total{kind="entity"}')
sst=$(value annals_rocksdb_live_sst_bytes)
rss_peak_kb=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
kill -TERM "$pid"; wait "$pid" || true
du_bytes=$(du -sb "$work/db" | cut -f1)
echo "tsv: $tsv ($(gzip -cdf "$tsv" | wc -l) lines), import took $(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", (b - a) / 1e9}') s"
echo "relations written: $relations; entities written: $entities; revision: $(value annals_revision)"
per() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f", a / b}'; }
echo "live SST bytes: $sst ($(per "$sst" "$relations") bytes per relation)"
echo "database directory after shutdown (du -sb, WAL and logs included): $du_bytes ($(per "$du_bytes" "$relations") bytes per relation)"
echo "annalsd peak RSS (VmHWM): $((rss_peak_kb / 1024)) MiB"
tail -3 "$work/import.log"
