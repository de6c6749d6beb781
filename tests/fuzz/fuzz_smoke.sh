#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang (a build tree of their own, -DANNALS_FUZZ=ON) and
# runs each for a bounded time on its committed corpus (tests/fuzz/corpus/<harness>/). CTest
# runs it as fuzz_smoke; it exits 77 (SKIPPED) when clang or libFuzzer is missing.
#
#   tests/fuzz/fuzz_smoke.sh [--seconds S] [--build DIR] [--handlers]
#
# --seconds: per harness (default 15). --build: the fuzz build tree (default ./build/fuzz).
# --handlers: also build and run handler_fuzz (storage + write path; a few minutes more to
# build). New inputs found are kept in DIR/corpus/<harness>/, never written into the source
# tree; a crash leaves its input in DIR/artifacts/ and fails the run.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=15
build="$root/build/fuzz"
handlers=OFF
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --handlers) handlers=ON; shift ;;
    *) echo "fuzz_smoke: unknown argument $1" >&2; exit 2 ;;
  esac
done

clangxx=$(command -v clang++ || true)
if [ -z "$clangxx" ]; then
  echo "fuzz_smoke: SKIPPED: clang++ not found (ANNALS_FUZZ=1 scripts/deps.sh installs clang)"
  exit 77
fi
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' > "$probe/p.cc"
if ! "$clangxx" -fsanitize=fuzzer,address "$probe/p.cc" -o "$probe/p" >"$probe/log" 2>&1; then
  echo "fuzz_smoke: SKIPPED: clang++ cannot link libFuzzer (libclang-rt-14-dev):"
  sed 's/^/  /' "$probe/log" | head -5
  exit 77
fi

targets=(key_codec_fuzz valid_time_fuzz jsonl_fuzz)
[ "$handlers" = ON ] && targets+=(handler_fuzz)
start=$(date +%s)
echo "fuzz_smoke: configuring $build (clang, -DANNALS_FUZZ=ON, handlers $handlers)"
cmake -S "$root" -B "$build" -G Ninja -DANNALS_FUZZ=ON -DANNALS_FUZZ_HANDLERS=$handlers \
  -DCMAKE_CXX_COMPILER="$clangxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build.configure.log" 2>&1 ||
  { cat "$build.configure.log"; exit 1; }
cmake --build "$build" --target "${targets[@]}" -- -j"$(nproc)"
echo "fuzz_smoke: built in $(( $(date +%s) - start )) s; ${seconds} s per harness"

failed=0
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  artifacts="$build/artifacts"
  mkdir -p "$corpus" "$artifacts"
  log="$build/$t.log"
  set +e
  (cd "$build" && "$build/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
     -print_final_stats=1 -artifact_prefix="$artifacts/$t-" "$corpus" "$root/tests/fuzz/corpus/$t") >"$log" 2>&1
  rc=$?
  set -e
  runs=$(grep -Eo '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo "?")
  if [ $rc -ne 0 ]; then
    failed=1
    echo "fuzz_smoke: $t FAILED (exit $rc) after $runs runs:"
    grep -E "ERROR|invariant|SUMMARY|Test unit written|==[0-9]+==" "$log" | head -20 | sed 's/^/  /'
    echo "  log: $log"
    echo "  reproduce: $build/tests/fuzz/$t $artifacts/$t-<crash file>"
    echo "  once fixed, commit the input as a regression seed: tests/fuzz/corpus/$t/"
  else
    echo "fuzz_smoke: $t ok: $runs runs, corpus $(ls "$corpus" | wc -l) + $(ls "$root/tests/fuzz/corpus/$t" | wc -l) seeds"
  fi
done
echo "fuzz_smoke: $(( $(date +%s) - start )) s in all"
exit $failed
