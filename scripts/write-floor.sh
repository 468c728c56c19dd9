#!/usr/bin/env bash
# What building a large store writes to disk, against what the disk takes: the floor under
# "building a 10^7 store at >= 35,000 entries/s" (issue 17). Builds a store of N entries with the
# scale generator (map, group commit, default durability), adds 100,000 more while counting the
# device's written sectors (/proc/diskstats) and the page writes (strace -c), then times
# 4 KiB writes to fresh blocks of a file with an fdatasync every 3,500 pages (about one group
# commit of 1,000 entries) on the same file system.
#   N=2000000 DIR=.build-bench/write-floor bash scripts/write-floor.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
command -v strace >/dev/null || apt-get install -y strace >/dev/null
n=${N:-2000000}
dir=${DIR:-.build-bench/write-floor}
(cd Benchmarks && rm -f .build/release.yaml && swift build -c release --product CashetStoreGenerator >&2)
generator=Benchmarks/.build/release/CashetStoreGenerator
rm -rf "$dir" && mkdir -p "$dir"
echo "building $n entries in $dir/store ..." >&2
"$generator" "$dir/store" "$n" 2>/dev/null
device=$(basename "$(findmnt -no SOURCE --target "$dir")")
sectors() { awk -v d="$device" '$3 == d { print $10 }' /proc/diskstats; }
before=$(sectors)
strace -f -c -e trace=pwrite64,writev,fdatasync,fsync -o "$dir/strace.txt" "$generator" "$dir/store" $((n + 100000)) >/dev/null 2>&1
after=$(sectors)
pwrites=$(awk '$NF == "pwrite64" { print $4 }' "$dir/strace.txt")
syncs=$(awk '$NF == "fdatasync" { print $4 }' "$dir/strace.txt")
python3 - "$dir" "$before" "$after" "$pwrites" "$syncs" "$n" <<'PY'
import os, random, sys, time
directory, before, after, pwrites, syncs, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4] or 0), int(sys.argv[5] or 0), int(sys.argv[6])
added = 100_000
written = (after - before) * 512
print(f"adding {added:,} entries to a store of {n:,}: {written / added / 1024:.1f} KiB written to disk per entry, "
      f"{pwrites / added:.2f} page writes (pwrite64) and {syncs} fdatasync")
path = os.path.join(directory, "rate.bin")
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
pages, page = (4 << 30) // 4096, os.urandom(4096)
os.ftruncate(fd, pages * 4096)
count, start = 0, time.time()
while time.time() - start < 20:
    for _ in range(3500):
        os.pwrite(fd, page, random.randrange(pages) * 4096)
    os.fdatasync(fd)
    count += 3500
elapsed = time.time() - start
os.close(fd); os.unlink(path)
rate = count / elapsed
per_entry = written / added / 4096
print(f"the disk: {rate:,.0f} pages/s of 4 KiB to fresh blocks, fdatasync every 3,500 ({rate * 4096 / 1e6:.0f} MB/s)")
print(f"so at {per_entry:.2f} pages per entry the disk alone allows {rate / per_entry:,.0f} entries/s (target: 35,000/s at 10^7)")
PY
