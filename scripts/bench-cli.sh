#!/usr/bin/env bash
# Times `cashet stats`, `cashet log -n 20` and `cashet show PREFIX` on a store of COMMITS small
# commits (default 1,000,000), built once by Benchmarks' CashetStoreGenerator and kept in
# .build-bench/ for later runs. Each command runs RUNS times (default 15); the table gives the
# median and the fastest, next to `cashet --version` (process start, no store) in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
commits=${COMMITS:-1000000}
runs=${RUNS:-15}
source scripts/lib/generated-store.sh
make_generated_store "$commits"

python3 - "$bin/cashet" "$store" "$runs" <<'PY'
import json, os, statistics, subprocess, sys, time
cashet, store, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])

def timed(args, expect_ok=True):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run([cashet] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        times.append((time.perf_counter() - start) * 1000)
        if expect_ok and done.returncode != 0:
            sys.exit(f"cashet {' '.join(args)} failed: {done.stderr.decode()}")
    return statistics.median(times), min(times)

stats = json.loads(subprocess.run([cashet, "stats", "--json", "--store", store], capture_output=True, check=True).stdout)
newest = json.loads(subprocess.run([cashet, "log", "-n", "1", "--json", "--store", store], capture_output=True, check=True).stdout)
prefix = newest["hash"][:8]
files = [os.path.join(store, name) for name in ("data.mdb", "lock.mdb")]
disk = sum(os.stat(f).st_blocks * 512 for f in files if os.path.exists(f))

rows = [
    ("baseline: `cashet --version` (process start, no store)", ["--version"]),
    ("`cashet stats`", ["stats", "--store", store]),
    ("`cashet stats --json`", ["stats", "--json", "--store", store]),
    ("`cashet log -n 20`", ["log", "-n", "20", "--store", store]),
    ("`cashet log -n 20 --func step_7`", ["log", "-n", "20", "--func", "step_7", "--store", store]),
    (f"`cashet show {prefix}` (prefix lookup)", ["show", prefix, "--store", store]),
]
results = [(label, *timed(args)) for label, args in rows]
base = results[0][1]
print(f"\nstore: {stats['commits']:,} commits, {stats['blobs']:,} blobs, {disk / stats['commits']:.0f} bytes on disk per commit ({disk / 2**20:.0f} MiB)")
print(f"runs per command: {runs}\n")
print("| command | median ms | fastest ms | median minus process start |")
print("|---|---|---|---|")
for label, median, fastest in results:
    extra = "—" if label.startswith("baseline") else f"{median - base:+.1f} ms"
    print(f"| {label} | {median:.1f} | {fastest:.1f} | {extra} |")
PY
