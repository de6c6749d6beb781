#!/usr/bin/env bash
# API hygiene for proto/: `buf lint` with the rules of buf.yaml, then `buf breaking` against
# the previous version of proto/ on this branch. CTest runs it as `proto_lint`.
#
# The previous version: when proto/ has uncommitted changes, HEAD's proto/; otherwise the
# parent of the last commit that touched proto/ (so a commit that changes the API is checked
# against the API it changed). ANNALS_PROTO_BASE=<git ref> picks another base. Skipped, with
# a message, without .git or when no earlier commit has proto/.
#
# buf comes from the npm registry (@bufbuild/buf, pinned in tools/buf/package-lock.json) and
# is installed into tools/buf/node_modules on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

buf="$root/tools/buf/node_modules/.bin/buf"
stamp="$root/tools/buf/node_modules/.package-lock.json"
if [ ! -x "$buf" ] || [ ! -f "$stamp" ] || [ tools/buf/package-lock.json -nt "$stamp" ]; then
  echo "lint-proto: npm ci in tools/buf"
  (cd tools/buf && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "lint-proto: $("$buf" --version 2>&1 | head -1) lint"
"$buf" lint
echo "lint-proto: buf lint passed"

if ! git rev-parse --git-dir >/dev/null 2>&1; then
  echo "lint-proto: SKIPPED buf breaking: not in a git work tree"
  exit 0
fi
base=${ANNALS_PROTO_BASE:-}
if [ -z "$base" ]; then
  if [ -n "$(git status --porcelain -- proto)" ]; then
    base=HEAD
  else
    last=$(git log -1 --format=%H -- proto 2>/dev/null || true)
    if [ -z "$last" ] || ! git rev-parse -q --verify "$last^" >/dev/null 2>&1; then
      echo "lint-proto: SKIPPED buf breaking: no commit before the last one touching proto/"
      exit 0
    fi
    base="$last^"
  fi
fi
if ! git cat-file -e "$base:proto" 2>/dev/null; then
  echo "lint-proto: SKIPPED buf breaking: $base has no proto/"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git archive "$base" proto | tar -x -C "$tmp"
cp buf.yaml "$tmp/"  # the same module layout (proto/ as the module root) for both sides
echo "lint-proto: buf breaking against proto/ at $(git rev-parse --short "$base") ($base)"
"$buf" breaking --against "$tmp"
echo "lint-proto: buf breaking passed"
