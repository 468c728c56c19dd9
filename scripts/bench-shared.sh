#!/usr/bin/env bash
# The shared store's benchmark (not a test): starts a throwaway PostgreSQL cluster on loopback,
# measures hit latency per tier (against a plain LMDB store in the same run) and miss throughput
# with 1 and 4 writer processes (against LMDB's one writer), prints a table, stops the cluster.
#   bash scripts/bench-shared.sh            # HITS=2000 MISSES=2000 by default
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
hits=${HITS:-2000}
misses=${MISSES:-2000}
port=${PORT:-54332}

rm -f Benchmarks/.build/release.yaml   # notice changes to the root package
swift build -c release --package-path Benchmarks --product CashetSharedStore >&2
driver="$(swift build -c release --package-path Benchmarks --show-bin-path)/CashetSharedStore"
source scripts/lib/throwaway-cluster.sh
start_throwaway_cluster "$port"
"$driver" hits "$url" "$work" "$hits" > "$work/hits.json"

# Misses: each run in a database of its own.
for writers in 1 4; do
    psql "$url" -qAtc "CREATE DATABASE misses$writers"
    misses_url="postgresql://cashet@127.0.0.1:$port/misses$writers"
    for ((w = 0; w < writers; w++)); do
        "$driver" misses "$misses_url" "$work" $((w * misses)) "$misses" > "$work/misses-$writers-$w.json" &
    done
    wait
done

python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
hits = json.load(open(f"{work}/hits.json"))
base = hits["lmdb"]["median_us"]
print(f"hit latency, submit + load, {hits['calls']} calls each (median / p99, µs; ratio of medians to plain LMDB):")
for key, label in [("lmdb", "plain LMDBStore (baseline)"), ("tiered_local", "TieredStore, local tier hit"),
                   ("tiered_remote_fill", "TieredStore, remote hit + copy down"), ("postgres", "PostgresStore alone")]:
    h = hits[key]
    print(f"  {label:38} {h['median_us']:9.1f} / {h['p99_us']:9.1f}   {h['median_us'] / base:7.1f}x")
one = json.load(open(f"{work}/misses-1-0.json"))
print(f"miss throughput, distinct calls run and recorded by submit (calls/s; ratio to one LMDB writer, {one['lmdb_per_s']:.0f}/s):")
for writers in (1, 4):
    runs = [json.load(open(f"{work}/misses-{writers}-{w}.json")) for w in range(writers)]
    # All writers start together: the calls of all over the time of the slowest.
    rate = sum(r["calls"] for r in runs) / max(r["tiered_seconds"] for r in runs)
    print(f"  TieredStore over PostgreSQL, {writers} writer process(es) {rate:9.0f}   {rate / one['lmdb_per_s']:6.2f}x")
PY
