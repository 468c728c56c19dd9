"""Renders scripts/scale.sh results (one JSON object per line) as a Markdown table and a PNG plot."""
import json
import platform
import sys
from datetime import date

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
plot_path = sys.argv[2]

print(f"Measured {date.today()} on {platform.node()} ({platform.machine()}, {__import__('os').cpu_count()} cores) with `scripts/scale.sh`.\n")
print("| entries | build entries/s | hit p50 µs | hit p99 µs | miss p50 µs | miss p99 µs | `stats` ms | `log -n 20` ms | bytes on disk / entry | RSS after 100k hits MiB |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r['size']:,} | {r['build_per_second']:,} | {r['hit_p50_us']:.2f} | {r['hit_p99_us']:.2f} | {r['miss_p50_us']:,.0f} | {r['miss_p99_us']:,.0f} "
          f"| {r['stats_ms']:.3f} | {r['log20_ms']:.3f} | {r['disk_bytes'] / r['size']:,.0f} | {r['rss_mib']:.1f} |")

sizes = [r["size"] for r in rows]
fig, (latency, disk) = plt.subplots(1, 2, figsize=(11, 4.2))
latency.plot(sizes, [r["hit_p50_us"] for r in rows], "o-", label="hit p50")
latency.plot(sizes, [r["hit_p99_us"] for r in rows], "s--", label="hit p99")
latency.axhline(3, color="grey", linewidth=0.8, linestyle=":", label="target p50 ≤ 3 µs")
latency.set(xscale="log", yscale="log", xlabel="entries in the store", ylabel="µs (submit + load, ~100 B)", title="Hit latency")
latency.legend()
disk.plot(sizes, [r["disk_bytes"] / r["size"] for r in rows], "o-", color="tab:green", label="bytes on disk / entry")
disk.axhline(300, color="grey", linewidth=0.8, linestyle=":", label="target ≤ 300 B")
disk.set(xscale="log", xlabel="entries in the store", ylabel="bytes", title="Disk per entry")
disk.legend()
fig.tight_layout()
fig.savefig(plot_path, dpi=110)
