#!/usr/bin/env bash
# cashet-swift side by side with the Python peers, in one run: cashet 0.5.0 (the Python
# original), joblib.Memory and diskcache, installed from PyPI into a venv this script creates.
# The same workloads on each (scripts/peers/workloads.py and Benchmarks' CashetPeerWorkloads):
# hit latency, cold misses/s, a chunked incremental re-run (20,000 chunks, 1,000 changed), an
# 8 MiB result stored and loaded, `stats` and `log -n 20` on a 21,000-commit store (the two
# cashets' CLIs), and process start + one hit from the command line. Prints a Markdown table
# with the ratio cashet-swift : peer in every cell. Takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
out=${OUT:-.build-bench/peers}
rm -rf "$out"
mkdir -p "$out"

swift build -c release --product cashet
bin=$(swift build -c release --show-bin-path)
# Benchmarks is its own package; it does not notice new sources of the root package without this.
(cd Benchmarks && rm -f .build/release.yaml && swift build -c release --product CashetPeerWorkloads)

venv=.build-bench/peers-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet cashet==0.5.0 joblib==1.6.0 diskcache==5.6.3
"$venv/bin/python" scripts/peers/compare.py "$venv/bin/python" Benchmarks/.build/release/CashetPeerWorkloads "$bin/cashet" "$out" | tee "$out/compare.md"
