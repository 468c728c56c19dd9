#!/usr/bin/env bash
# The long crash campaign: ROUNDS (default 1000) rounds of a mixed workload (small and large
# results, hits, map batches, rm, gc, import; durable and noSync rounds alternating), each
# SIGKILLed at a random moment and then checked: the store opens, fsck finds no damage, every
# acknowledged result loads bit-exactly, removed commits stay gone, stats match a recount.
# The test suite runs the same campaign for 30 rounds (CrashTests.crashCampaign).
# Prints one JSON summary; exits 1 if anything was lost, wrong or damaged.
#   ROUNDS=1000 SEED=1 DIR=.build-bench/crash-campaign bash scripts/crash-campaign.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
rounds=${ROUNDS:-1000}
seed=${SEED:-$RANDOM}
dir=${DIR:-.build-bench/crash-campaign}
swift build -c release --product CashetTestHelper
rm -rf "$dir"
mkdir -p "$dir"
echo "crash campaign: $rounds rounds, seed $seed, in $dir" >&2
start=$(date +%s)
status=0
.build/release/CashetTestHelper crash-campaign "$dir" "$rounds" "$seed" || status=$?
echo "took $(( $(date +%s) - start )) s" >&2
exit $status
