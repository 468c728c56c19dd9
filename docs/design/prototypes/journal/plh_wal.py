#!/usr/bin/env python3
"""Power-loss harness for wal.c (adapted from ../steady/plh.py), reusing
scripts/powerloss/campaign.py's Recording (ops model, durability, choose(), materialize()).

  plh_wal.py --variant safe|nocheck|nochain|truncfirst|nosyncapply --states N
             [--txns 600 --flush 50 --seed 1 --max-journal BYTES]

Records `wal run` under shim.so (marks: "t I HASH ITEMS" per acknowledged submit, "f SEQ" per
flush whose LMDB commit returned), then for each state: picks a crash point k and a strategy
(subset with 512 B or 4 KiB sectors / prefix / durable / all), materializes the files, runs
`wal check` (recovery = apply the journal's valid prefix, then a full walk) and requires:
  - it opens, the walk works, and the store equals exactly the state after some acknowledged
    submit i (multiset hash + item count recorded at acknowledgement time);
  - i >= the last flush acknowledged before k (everything a completed flush covered survives);
  - for strategy "all" (what a SIGKILL leaves: every issued write, nothing torn): i >= the last
    submit acknowledged before k (a process crash loses nothing);
  - 100 more submits + flush + re-walk work.
Before the first acknowledged submit, a state that does not open counts as "uninitialized".
"""
import argparse, collections, json, os, random, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import campaign  # noqa: E402

VARIANT_FLAGS = {"safe": [], "nocheck": ["--no-check"], "nochain": ["--no-chain"],
                 "truncfirst": ["--trunc-first"], "nosyncapply": ["--nosync-apply"]}


def record(args, workdir):
    store = os.path.join(workdir, "store")
    os.makedirs(store)
    log, acks = os.path.join(workdir, "ops.log"), os.path.join(workdir, "acks.log")
    cmd = ["nice", "-n", "10", os.path.join(HERE, "wal"), "run", store, str(args.txns), "--flush-n", str(args.flush),
           "--flush-ms", "100000000", "--seed", str(args.seed), "--max-journal", str(args.max_journal),
           "--marks", acks] + VARIANT_FLAGS[args.variant]
    env = dict(os.environ, CASHET_PL_ROOT=store, CASHET_PL_LOG=log, CASHET_PL_MARKS=acks,
               LD_PRELOAD=os.path.join(HERE, "shim.so"))
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    with open(log, "rb") as fh:
        rec = campaign.Recording(fh.read(), "posix")
    return rec, out.stdout.strip()


def marks(rec):
    """commit[i] = (hash, items); flush_before[k] / ack_before[k] over ops[:k]."""
    commit = {0: (0, 0)}
    flush_before, ack_before = [], []
    lastf, lastt, pending = None, None, ""
    for op in rec.ops:
        flush_before.append(lastf)
        ack_before.append(lastt)
        if op.kind == "M":
            pending += op.text
            while "\n" in pending:
                line, pending = pending.split("\n", 1)
                p = line.split()
                if not p:
                    continue
                if p[0] == "t":
                    commit[int(p[1])] = (int(p[2]), int(p[3]))
                    lastt = int(p[1])
                elif p[0] == "f":
                    lastf = int(p[1])
    flush_before.append(lastf)
    ack_before.append(lastt)
    return commit, flush_before, ack_before


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", default="safe", choices=tuple(VARIANT_FLAGS))
    ap.add_argument("--states", type=int, default=200)
    ap.add_argument("--txns", type=int, default=600)
    ap.add_argument("--flush", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-journal", type=int, default=4 << 20)
    ap.add_argument("--keep", help="copy up to 5 failing states here")
    args = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="wal-pl-", dir="/tmp")
    t0 = time.monotonic()
    try:
        rec, runline = record(args, workdir)
        commit, flush_before, ack_before = marks(rec)
        rng = random.Random(args.seed * 7919 + list(VARIANT_FLAGS).index(args.variant))
        points = rec.interesting_points()
        n = len(rec.ops)
        res = collections.Counter()
        by_strategy = collections.defaultdict(collections.Counter)
        failures, kept, lags, all_lags = [], 0, [], []
        for s in range(args.states):
            k = n if s == 0 else (rng.randint(0, n) if rng.random() < 0.5 else rng.choice(points))
            strategy = rng.choice(("subset", "subset", "subset", "prefix", "durable", "all"))
            campaign.SECTOR = rng.choice((512, 4096))
            chosen = rec.choose(k, strategy, rng)
            sdir = os.path.join(workdir, "state")
            shutil.rmtree(sdir, ignore_errors=True)
            os.makedirs(sdir)
            rec.materialize(chosen, sdir)
            # journal-shm is never trusted at open; drop it like lock.mdb half the time
            if rng.random() < 0.5 and os.path.exists(os.path.join(sdir, "journal-shm")):
                os.unlink(os.path.join(sdir, "journal-shm"))
            cmd = ["nice", "-n", "10", os.path.join(HERE, "wal"), "check", sdir, "--seed", str(args.seed),
                   "--flush-n", "1000000", "--max-journal", str(args.max_journal)] + VARIANT_FLAGS[args.variant]
            env = dict(os.environ)
            env.pop("LD_PRELOAD", None)
            try:
                p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
                out, rc, err = p.stdout.split(), p.returncode, p.stderr.strip()
            except subprocess.TimeoutExpired:
                out, rc, err = ["timeout"], -999, ""
            F, A = flush_before[k], ack_before[k]
            verdict, why = "ok", ""
            if rc < 0:
                verdict, why = "fail", f"signal {-rc}" if rc != -999 else "timeout"
            elif out[:1] == ["ok"]:
                i, h, items = int(out[1]), int(out[2]), int(out[3])
                if commit.get(i) != (h, items):
                    verdict, why = "fail", f"contents are not the state of submit {i}"
                elif F is not None and i < F:
                    verdict, why = "fail", f"lost flushed: state of submit {i} < flush {F}"
                elif strategy == "all" and A is not None and i < A:
                    verdict, why = "fail", f"lost on process crash: state of submit {i} < acked {A}"
                elif "cont-ok" not in out:
                    verdict, why = "fail", "continue/rewalk: " + " ".join(out[4:])[:80] + " " + err[:80]
                else:
                    lags.append((A or 0) - i)
                    if strategy == "all":
                        all_lags.append((A or 0) - i)
            else:
                if A is None:
                    verdict = "uninitialized"   # crash while creating: nothing acknowledged
                else:
                    verdict, why = "fail", (" ".join(out)[:80] or f"exit {rc}") + " " + err[:100]
            if "gap" in err:
                res["journal-gap-warnings"] += 1
            res[verdict] += 1
            by_strategy[f"{strategy}/{campaign.SECTOR}"][verdict] += 1
            if verdict == "fail":
                kind = why.split(":")[0].split(" of submit")[0]
                res["fail:" + kind] += 1
                if len(failures) < 6:
                    failures.append(f"state {s} k={k}/{n} {strategy} tear={campaign.SECTOR} flush={F} acked={A}: {why}")
                if args.keep and kept < 5:
                    dst = os.path.join(args.keep, f"{args.variant}-{s}")
                    shutil.rmtree(dst, ignore_errors=True)
                    os.makedirs(dst)
                    rec.materialize(chosen, dst)
                    kept += 1
        summary = dict(variant=args.variant, seed=args.seed, txns=args.txns, flush_every=args.flush,
                       max_journal=args.max_journal, ops=n, flushes_acked=len(set(x for x in flush_before if x is not None)),
                       states=args.states, results=dict(res),
                       by_strategy={k: dict(v) for k, v in sorted(by_strategy.items())},
                       acked_lost_mean=round(sum(lags) / max(1, len(lags)), 1), acked_lost_max=max(lags or [0]),
                       all_strategy_lost_max=max(all_lags or [0]),
                       failures=failures, recording=runline, seconds=round(time.monotonic() - t0, 1))
        print(json.dumps(summary))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
