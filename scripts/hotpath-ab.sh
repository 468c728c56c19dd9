#!/usr/bin/env bash
# Compares CashetHotPath binaries side by side: each operation runs RUNS times per binary,
# the binaries alternating run by run (so VM drift hits them alike), and prints each one's
# sorted ns/op and median.
#
#   scripts/hotpath-ab.sh submit-load 500000 9 /tmp/hot-before /tmp/hot-after
#
# Build a binary with `cd Benchmarks && swift build -c release --product CashetHotPath` and
# copy `.build/release/CashetHotPath` away before changing the code.
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: $0 OPERATION ITERATIONS RUNS BINARY..." >&2; exit 2; }
operation=$1 iterations=$2 runs=$3
shift 3
declare -A times
for _ in $(seq "$runs"); do
    for binary in "$@"; do
        ns=$("$binary" "$operation" "$iterations" | sed -E 's/.*: ([0-9]+) ns.*/\1/')
        times[$binary]="${times[$binary]:-} $ns"
    done
done
for binary in "$@"; do
    sorted=$(tr ' ' '\n' <<< "${times[$binary]}" | grep . | sort -n)
    median=$(awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }' <<< "$sorted")
    echo "$binary: $(tr '\n' ' ' <<< "$sorted")median $median"
done
