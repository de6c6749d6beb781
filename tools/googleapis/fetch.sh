#!/usr/bin/env bash
# Installs google-proto-files (pinned in package-lock.json) into OUTDIR/node_modules with
# `npm ci`, for the google/rpc protos the build compiles. Run by the build (see
# CMakeLists.txt here); fails with a clear message when the npm registry is unreachable.
#   usage: fetch.sh OUTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1
mkdir -p "$out"
cp "$here/package.json" "$here/package-lock.json" "$out/"
cd "$out"
if ! command -v npm >/dev/null 2>&1; then
  echo "googleapis: npm not found; scripts/deps.sh installs it. The build needs npm to fetch" >&2
  echo "googleapis: google/rpc/{status,error_details}.proto from the npm package google-proto-files." >&2
  exit 1
fi
if ! npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >npm.log 2>&1; then
  cat npm.log >&2
  echo "googleapis: FAILED to install google-proto-files from the npm registry (see above)." >&2
  echo "googleapis: the build takes google/rpc/status.proto and google/rpc/error_details.proto" >&2
  echo "googleapis: from it; make the registry reachable (npm config get registry) and build again." >&2
  exit 1
fi
protos=node_modules/google-proto-files/google/rpc
for f in status.proto error_details.proto; do
  if [ ! -f "$protos/$f" ]; then
    echo "googleapis: $protos/$f is missing from google-proto-files" >&2
    exit 1
  fi
done
# npm extracts files with a fixed old mtime; give the outputs a fresh one for the build tool.
touch "$protos/status.proto" "$protos/error_details.proto"
