"""Runs the compare-peers workloads on cashet-swift and the Python peers in one run and prints
a Markdown table with the ratio cashet-swift : peer for every cell (scripts/compare-peers.sh).

    python compare.py PEER_PYTHON CASHET_SWIFT_WORKLOADS CASHET_SWIFT_CLI OUT_DIR
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date

python, swift_workloads, swift_cli, out = sys.argv[1:5]
here = os.path.dirname(os.path.abspath(__file__))
workloads_py = os.path.join(here, "workloads.py")
peer_cli = os.path.join(os.path.dirname(python), "cashet")
peers = ["cashet-swift", "cashet", "joblib", "diskcache"]


def command(peer, directory, mode):
    if peer == "cashet-swift":
        return [swift_workloads, directory, mode]
    return [python, workloads_py, peer, directory, mode]


def timed_ms(args, runs=10):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


results = {}
for peer in peers:
    directory = os.path.join(out, peer)
    os.makedirs(directory, exist_ok=True)
    print(f"== {peer}", file=sys.stderr)
    done = subprocess.run(command(peer, directory, "all"), check=True, capture_output=True, text=True)
    row = json.loads(done.stdout.strip().splitlines()[-1])
    row["cli_hit_ms"] = timed_ms(command(peer, directory, "hit-once"))
    chunks = os.path.join(directory, "chunks")
    if peer == "cashet-swift":
        row["stats_ms"] = timed_ms([swift_cli, "stats", "--store", chunks])
        row["log_ms"] = timed_ms([swift_cli, "log", "-n", "20", "--store", chunks])
    elif peer == "cashet":
        row["stats_ms"] = timed_ms([peer_cli, "--store-dir", chunks, "stats"])
        row["log_ms"] = timed_ms([peer_cli, "--store-dir", chunks, "log", "-n", "20"])
    results[peer] = row

# (label, key, unit, higher is better)
cells = [
    ("hit latency (submit + load, ~100 B), median", "hit_us", "µs", False),
    ("cold misses, one call at a time", "cold_misses_per_s", "calls/s", True),
    ("chunked re-run: 20,000 chunks, 1,000 changed", "chunks_rerun_s", "s", False),
    ("chunked cold run: 20,000 chunks", "chunks_cold_s", "s", False),
    ("bytes on disk per entry (the chunk store: 21,000 entries)", "bytes_per_entry", "B", False),
    ("gc of everything (the chunk store)", "gc_all_s", "s", False),
    ("8 MiB result: store (first call)", "large_store_s", "s", False),
    ("8 MiB result: load (second call)", "large_load_s", "s", False),
    ("`stats` CLI on the 21,000-commit chunk store", "stats_ms", "ms", False),
    ("`log -n 20` CLI on the 21,000-commit chunk store", "log_ms", "ms", False),
    ("process start + one hit, from the command line", "cli_hit_ms", "ms", False),
]
print(f"Measured {date.today()} on {platform.node()} ({os.cpu_count()} cores), `scripts/compare-peers.sh`; "
      "each cell is the peer's value and, in brackets, how many times faster cashet-swift is.\n")
print("| workload | cashet-swift | " + " | ".join(f"{p} (Python)" for p in peers[1:]) + " |")
print("|---|---" + "|---" * (len(peers) - 1) + "|")


def fmt(value, unit):
    if unit == "calls/s":
        return f"{value:,.0f}/s"
    return f"{value:,.3g} {unit}" if value < 100 else f"{value:,.0f} {unit}"


for label, key, unit, higher in cells:
    mine = results["cashet-swift"].get(key)
    row = [fmt(mine, unit) if mine is not None else "n/a"]
    for peer in peers[1:]:
        theirs = results[peer].get(key)
        if theirs is None or mine is None:
            row.append("n/a")
        else:
            ratio = (mine / theirs) if higher else (theirs / mine)
            row.append(f"{fmt(theirs, unit)} ({ratio:,.1f}×)")
    print(f"| {label} | " + " | ".join(row) + " |")
with open(os.path.join(out, "results.json"), "w") as f:
    json.dump(results, f, indent=1)
