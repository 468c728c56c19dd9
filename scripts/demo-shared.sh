#!/usr/bin/env bash
# The shared-store demo, from a fresh clone: starts a throwaway PostgreSQL cluster on loopback,
# runs the chunked pipeline on two "machines" (separate local LMDB tiers) sharing it, shows
# `cashet stats` of the shared store, and stops the cluster at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
chunks=${CHUNKS:-2000}
changed=${CHANGED:-10}
port=${PORT:-54331}

swift build -c release --product cashet-demo
swift build -c release --product cashet
bin=$(swift build -c release --show-bin-path)
source scripts/lib/throwaway-cluster.sh
start_throwaway_cluster "$port"   # the password reaches cashet through PGPASSWORD only

echo "== machine A, cold: every chunk executes and is recorded in PostgreSQL"
"$bin/cashet-demo" --store "$work/machine-a" --shared "$url" --chunks "$chunks" --changed "$changed"
echo "== machine B, its local tier empty: only the $changed changed chunks execute; the rest are A's results"
"$bin/cashet-demo" --store "$work/machine-b" --shared "$url" --chunks "$chunks" --changed "$changed"
echo "== machine B again: hits come from its local tier"
"$bin/cashet-demo" --store "$work/machine-b" --shared "$url" --chunks "$chunks" --changed "$changed"
echo "== cashet --store $url stats"
"$bin/cashet" --store "$url" stats
