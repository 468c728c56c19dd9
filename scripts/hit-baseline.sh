#!/usr/bin/env bash
# The warm-hit benchmarks ("hit: submit", "hit: submit + load") checked against a baseline
# commit with ordo-one's `baseline check`, both measured in this run on this machine. The
# baseline commit's Benchmarks package (a git worktree, kept under .build-bench) and this
# checkout's run in turn, ROUNDS times (5 by default), so VM drift hits both alike; each round's
# pair is checked with this checkout's thresholds (hitThresholds: p50 wall time within 5%, no
# more mallocs). Passes when most rounds pass.
# Usage: bash scripts/hit-baseline.sh [BASE]   (default: d399df4, the commit before logging,
# metrics and hit counts). The first run takes about 15 minutes (two release builds).
set -euo pipefail
cd "$(dirname "$0")/.."
base=$(git rev-parse "${1:-d399df4070328bc3b16fbd23641db5f19b99e021}")
rounds=${ROUNDS:-5}
worktree=.build-bench/hit-base-${base:0:12}
[ -d "$worktree" ] || { git worktree prune; git worktree add --detach "$worktree" "$base" >&2; }
filter='hit: submit.*'   # ordo-one matches the whole name
baselines=Benchmarks/.benchmarkBaselines/CashetBenchmarks
mkdir -p "$baselines"
run() { (cd "$1" && swift package --disable-sandbox benchmark baseline update "$2" --filter "$filter" --no-progress --quiet >&2); }
for round in $(seq "$rounds"); do
    run "$worktree/Benchmarks" "hit-base-$round"
    rm -rf "$baselines/hit-base-$round"
    cp -r "$worktree/$baselines/hit-base-$round" "$baselines/"
    run Benchmarks "hit-current-$round"
done
passed=0
cd Benchmarks
for round in $(seq "$rounds"); do
    echo "== round $round: this checkout (current) against $base (base), wall clock ns per hit" >&2
    swift package --disable-sandbox benchmark baseline compare "hit-base-$round" "hit-current-$round" --filter "$filter" --no-progress --format markdown 2>/dev/null \
        | awk '/^### / { title = $0 } /Time \(wall clock\)/ { wall = 1; print title; print; next } /^\|/ && wall && /hit-(base|current)/ { print; next } /^$/ { wall = 0 }' >&2
    # ordo-one fails a check on an improvement beyond the thresholds too: only "WORSE" is a regression.
    outcome=$(swift package --disable-sandbox benchmark baseline check "hit-base-$round" "hit-current-$round" --filter "$filter" --no-progress 2>&1 || true)
    if grep -q "is WORSE than" <<< "$outcome"; then
        echo "round $round: beyond the thresholds" >&2
    else
        passed=$((passed + 1)); echo "round $round: within the thresholds (or better)" >&2
    fi
done
echo "$passed of $rounds rounds within the thresholds" >&2
[ $((2 * passed)) -gt "$rounds" ]
