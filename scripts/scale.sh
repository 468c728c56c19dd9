#!/usr/bin/env bash
# The scale curve: grows one store through SIZES (default 10^4 10^5 10^6 10^7 small entries)
# with Benchmarks' CashetStoreGenerator (map, group commit, durable) and measures it at each
# size with CashetScaleProbe: build throughput, hit latency p50/p99 (100,000 random hits),
# miss latency p50/p99, stats and log -n 20 time, bytes on disk per entry, resident memory.
# Prints a Markdown table and writes a PNG plot (matplotlib, in a venv it creates) to OUT
# (default .build-bench/scale). 10^7 entries take about 11 GB of disk and ~10 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
sizes=${SIZES:-"10000 100000 1000000 10000000"}
out=${OUT:-.build-bench/scale}
mkdir -p "$out"

# Benchmarks is its own package; it does not notice new sources of the root package without this.
(cd Benchmarks && rm -f .build/release.yaml \
    && swift build -c release --product CashetStoreGenerator \
    && swift build -c release --product CashetScaleProbe)
bin=Benchmarks/.build/release

store="$out/store"
rm -rf "$store"
results="$out/results.jsonl"
: > "$results"
for size in $sizes; do
    echo "== $size entries" >&2
    built=$("$bin/CashetStoreGenerator" "$store" "$size" 2>/dev/null)
    probed=$("$bin/CashetScaleProbe" "$store")
    disk=$(du -s --block-size=1 "$store" | cut -f1)
    python3 -c 'import json, sys; b, p = json.loads(sys.argv[1]), json.loads(sys.argv[2]); p.update(size=int(sys.argv[3]), build_per_second=b["per_second"], disk_bytes=int(sys.argv[4])); print(json.dumps(p))' \
        "$built" "$probed" "$size" "$disk" >> "$results"
done

venv=.build-bench/venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import matplotlib' 2>/dev/null || "$venv/bin/pip" install --quiet matplotlib
"$venv/bin/python" scripts/scale_report.py "$results" "$out/scale.png" | tee "$out/scale.md"
echo "plot: $out/scale.png" >&2
