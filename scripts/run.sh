#!/usr/bin/env bash
# Installs what is missing, builds, and runs annalsd on 127.0.0.1:50051 with its database
# under ./var/annals, loading data/seed/ (each article once; restarts write nothing new).
# Extra arguments go to annalsd, e.g. scripts/run.sh --sync.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
mkdir -p var
load=()
if [ -d data/seed ]; then load=(--load data/seed); fi
exec "${BUILD_DIR:-build}/service/annalsd" --listen "${ANNALS_LISTEN:-127.0.0.1:50051}" --db var/annals "${load[@]}" "$@"
