#!/usr/bin/env bash
# Makes clients/node ready to run: `npm ci` from package-lock.json when node_modules is
# missing or older than the lock file, then `npm run build` (proto-loader-gen-types into
# src/gen, then tsc into dist/). Cheap when nothing changed. CTest runs it as the setup of
# the Node tests (node_client_build).
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.package-lock.json  # written by npm ci / npm install
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  echo "node client: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
echo "node client: built into $(pwd)/dist"
