"""The compare-peers workloads on one Python peer (scripts/compare-peers.sh).

    python workloads.py PEER DIR all        -> one JSON object with every measurement
    python workloads.py PEER DIR hit-once   -> one hit of small(1) (timed from outside, with process start)

PEER is cashet (the Python original, 0.5.0), joblib (joblib.Memory) or diskcache (Cache.memoize).
The same workloads, with the same functions and sizes, are in Benchmarks/Sources/CashetPeerWorkloads.
"""
import json
import os
import shutil
import statistics
import sys
import time
from datetime import timedelta

CHUNKS, CHANGED, HITS, COLD = 20_000, 1_000, 2_000, 5_000


def small(i):
    return {"id": i, "label": f"result-{i}-abcdefghijklmnopqrstuvwxyz", "values": [1.5, 2.5, 3.5, 4.5, 5.5, 6.5]}


def chunk(i, version):
    return {"chunk": i, "version": version, "sum": i * 3 + version}


_LARGE = {}


def large(seed):
    # 8 MiB of incompressible bytes, made before the clock starts (the workload times the
    # cache storing and loading them, not making them).
    return _LARGE[seed]


def _splitmix(seed, count):
    out = bytearray(count)
    state = seed & 0xFFFFFFFFFFFFFFFF
    mask = 0xFFFFFFFFFFFFFFFF
    for offset in range(0, count, 8):
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
        out[offset:offset + 8] = z.to_bytes(8, "little")
    return out


def disk_bytes(path):
    """Bytes allocated on disk under `path` (st_blocks, as `du` counts them); the same count as
    CashetTestSupport's allocatedBytes(under:)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            info = os.lstat(os.path.join(root, name))
            total += info.st_blocks * 512
    return total


class Peer:
    """call(fn, *args) -> the value, through the peer's cache; gc_all() removes every entry."""

    def __init__(self, name, directory):
        self.name = name
        if name == "cashet":
            from cashet import Client
            self.client = Client(store_dir=directory)
            self.call = lambda fn, *args: self.client.submit(fn, *args).load()
            self.gc_all = lambda: self.client.gc(older_than=timedelta(0))
        elif name == "joblib":
            from joblib import Memory
            memory = Memory(directory, verbose=0)
            cached = {}
            self.call = lambda fn, *args: cached.setdefault(fn, memory.cache(fn))(*args)
            self.gc_all = lambda: memory.clear(warn=False)
        elif name == "diskcache":
            from diskcache import Cache
            cache = Cache(directory)
            cached = {}
            self.call = lambda fn, *args: cached.setdefault(fn, cache.memoize(name=fn.__name__)(fn))(*args)
            self.gc_all = lambda: cache.clear()
        else:
            sys.exit(f"unknown peer {name}")


def run_all(peer_name, directory):
    results = {}
    peer = Peer(peer_name, os.path.join(directory, "main"))
    peer.call(small, 1)
    times = []
    for _ in range(HITS):
        start = time.perf_counter_ns()
        peer.call(small, 1)
        times.append(time.perf_counter_ns() - start)
    results["hit_us"] = statistics.median(times) / 1000

    start = time.perf_counter()
    for i in range(COLD):
        peer.call(small, 1_000_000 + i)
    results["cold_misses_per_s"] = COLD / (time.perf_counter() - start)

    chunks = Peer(peer_name, os.path.join(directory, "chunks"))
    start = time.perf_counter()
    for i in range(CHUNKS):
        chunks.call(chunk, i, 0)
    results["chunks_cold_s"] = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(CHUNKS):
        chunks.call(chunk, i, 1 if i < CHANGED else 0)
    results["chunks_rerun_s"] = time.perf_counter() - start
    results["bytes_per_entry"] = disk_bytes(os.path.join(directory, "chunks")) / (CHUNKS + CHANGED)
    # gc empties a copy: the CLI timings that follow need the chunk store whole.
    shutil.copytree(os.path.join(directory, "chunks"), os.path.join(directory, "gc-copy"))
    copy = Peer(peer_name, os.path.join(directory, "gc-copy"))
    start = time.perf_counter()
    copy.gc_all()
    results["gc_all_s"] = time.perf_counter() - start

    results.update(large_results(peer_name, os.path.join(directory, "large")))
    print(json.dumps(results))


def large_results(peer_name, directory, rounds=5):
    """An 8 MiB result stored (a first call) and loaded (a second call), in `rounds` rounds of
    new results: the medians (one sample per run was too noisy to compare)."""
    blobs = Peer(peer_name, directory)
    store_times, load_times = [], []
    for seed in range(7, 7 + rounds):
        _LARGE[seed] = bytes(_splitmix(seed, 8 << 20))
        start = time.perf_counter()
        value = blobs.call(large, seed)
        store_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        again = blobs.call(large, seed)
        load_times.append(time.perf_counter() - start)
        assert again == value == _LARGE[seed] and len(value) == 8 << 20
        del value, again, _LARGE[seed]
    return {"large_store_s": statistics.median(store_times), "large_load_s": statistics.median(load_times)}


def hit_once(peer_name, directory):
    Peer(peer_name, os.path.join(directory, "main")).call(small, 1)


if __name__ == "__main__":
    peer, directory, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "all":
        run_all(peer, directory)
    elif mode == "large":
        print(json.dumps(large_results(peer, os.path.join(directory, "large"))))
    else:
        hit_once(peer, directory)
