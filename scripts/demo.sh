#!/usr/bin/env bash
# The demo, from a fresh clone: installs missing apt packages, builds release, runs a chunked
# incremental pipeline cold and then warm on a fresh store, and shows the store's stats.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
chunks=${CHUNKS:-10000}
changed=${CHANGED:-10}

swift build -c release --product cashet-demo
swift build -c release --product cashet
bin=$(swift build -c release --show-bin-path)
store=$(mktemp -d)/store
trap 'rm -rf "$(dirname "$store")"' EXIT

echo "== cold run: every chunk executes"
"$bin/cashet-demo" --store "$store" --chunks "$chunks" --changed "$changed"
echo "== warm run: only the $changed changed chunks execute"
"$bin/cashet-demo" --store "$store" --chunks "$chunks" --changed "$changed"
echo "== cashet stats"
"$bin/cashet" --store "$store" stats
echo "== cashet log -n 3"
"$bin/cashet" --store "$store" log -n 3
