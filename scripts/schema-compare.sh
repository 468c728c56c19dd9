#!/usr/bin/env bash
# Schema 1 against schema 2, side by side in one run: builds a store of N small entries with each
# (Benchmarks' CashetStoreGenerator, CASHET_SCHEMA=1 or 2), probes it (CashetScaleProbe: hit and
# miss latency in a fresh process, stats, log) and measures bytes on disk per entry, with the
# per-table page counts from mdb_stat (lmdb-utils). N defaults to 1,000,000 (~2 minutes, 2 GB).
#   scripts/schema-compare.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
command -v mdb_stat >/dev/null || apt-get install -y lmdb-utils >/dev/null
n=${1:-1000000}
out=${OUT:-.build-bench/schema-compare}
(cd Benchmarks && rm -f .build/release.yaml \
    && swift build -c release --product CashetStoreGenerator \
    && swift build -c release --product CashetScaleProbe)
bin=Benchmarks/.build/release
mkdir -p "$out"
for schema in 1 2; do
    store="$out/schema-$schema"
    rm -rf "$store"
    built=$(CASHET_SCHEMA=$schema "$bin/CashetStoreGenerator" "$store" "$n" 2>/dev/null)
    probed=$("$bin/CashetScaleProbe" "$store")
    disk=$(du -s --block-size=1 "$store" | cut -f1)
    echo "schema $schema: $n entries, build $built"
    echo "  probe $probed"
    echo "  bytes on disk per entry: $((disk / n))"
    mdb_stat -a "$store" | awk -v n="$n" '/^Status of/ {name=$3} /Branch pages/ {b[name]=$3} /Leaf pages/ {l[name]=$3} /Overflow pages/ {o[name]=$3}
        END {for (k in l) if (l[k] + b[k] + o[k] > 0) printf "    %-16s %7.1f B/entry\n", k, (l[k] + b[k] + o[k]) * 4096 / n}' | sort -k2 -n -r
done
