#!/usr/bin/env python3
"""Power-loss harness for steady.c, reusing scripts/powerloss/campaign.py's Recording (ops model,
durability, choose(), materialize()).

  plh.py --variant steady|nopin|norestore --states N [--txns 600 --ckpt 50 --seed 1 --mapsize B]

Records `steady run` under shim.so, then for each state: picks a crash point k and a strategy
(subset with 512 B or 4 KiB tearing / prefix / durable / all), materializes the files, runs
`steady check` with a different boot id (the reboot rule), and requires:
  - it opens, the full walk works (order, entry counts), and the store equals exactly the state
    after some committed txn i (multiset hash + item count recorded at commit time);
  - i >= the counter of the last checkpoint acknowledged ("c I T" mark) before k;
  - 100 more txns and a re-walk work (freelist sanity).
Before the first acknowledged checkpoint anything that the app can start over from is accepted.
"""
import argparse, collections, json, os, random, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import campaign  # noqa: E402


def record(args, workdir):
    store = os.path.join(workdir, "store")
    os.makedirs(store)
    log, acks = os.path.join(workdir, "ops.log"), os.path.join(workdir, "acks.log")
    cmd = ["nice", "-n", "10", os.path.join(HERE, "steady"), "run", store, str(args.txns), "--ckpt-txns", str(args.ckpt),
           "--ckpt-ms", "100000000", "--seed", str(args.seed), "--mapsize", str(args.mapsize), "--marks", acks]
    if args.variant == "nopin":
        cmd.append("--no-pin")
    env = dict(os.environ, CASHET_PL_ROOT=store, CASHET_PL_LOG=log, CASHET_PL_MARKS=acks,
               LD_PRELOAD=os.path.join(HERE, "shim.so"))
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    with open(log, "rb") as fh:
        rec = campaign.Recording(fh.read(), "posix")
    return rec, out.stdout.strip()


def marks(rec):
    """commit[i] = (hash, items); ckpt_before[k] = counter of the last checkpoint acknowledged in ops[:k]."""
    commit = {0: (0, 0)}
    ckpt_before = []
    last, pending = None, ""
    for op in rec.ops:
        ckpt_before.append(last)
        if op.kind == "M":
            pending += op.text
            while "\n" in pending:
                line, pending = pending.split("\n", 1)
                p = line.split()
                if p[0] == "t":
                    commit[int(p[1])] = (int(p[2]), int(p[3]))
                elif p[0] == "c":
                    last = int(p[1])
    ckpt_before.append(last)
    return commit, ckpt_before


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", default="steady", choices=("steady", "nopin", "norestore"))
    ap.add_argument("--states", type=int, default=200)
    ap.add_argument("--txns", type=int, default=600)
    ap.add_argument("--ckpt", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mapsize", type=int, default=1 << 30)
    ap.add_argument("--keep", help="copy up to 5 failing states here")
    args = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="steady-pl-", dir="/tmp")
    t0 = time.monotonic()
    try:
        rec, runline = record(args, workdir)
        commit, ckpt_before = marks(rec)
        rng = random.Random(args.seed * 7919 + {"steady": 0, "nopin": 1, "norestore": 2}[args.variant])
        points = rec.interesting_points()
        n = len(rec.ops)
        res = collections.Counter()
        by_strategy = collections.defaultdict(collections.Counter)
        failures, kept = [], 0
        lags = []
        for s in range(args.states):
            k = n if s == 0 else (rng.randint(0, n) if rng.random() < 0.5 else rng.choice(points))
            strategy = rng.choice(("subset", "subset", "subset", "prefix", "durable", "all"))
            campaign.SECTOR = rng.choice((512, 4096))
            chosen = rec.choose(k, strategy, rng)
            sdir = os.path.join(workdir, "state")
            shutil.rmtree(sdir, ignore_errors=True)
            os.makedirs(sdir)
            rec.materialize(chosen, sdir)
            cmd = ["nice", "-n", "10", os.path.join(HERE, "steady"), "check", sdir, "--mapsize", str(args.mapsize),
                   "--seed", str(args.seed)]
            if args.variant == "norestore":
                cmd.append("--no-restore")
            env = dict(os.environ, STEADY_BOOT_ID=f"reboot-{s}")
            env.pop("LD_PRELOAD", None)
            try:
                p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
                out, rc = p.stdout.split(), p.returncode
            except subprocess.TimeoutExpired:
                out, rc = ["timeout"], -999
            S = ckpt_before[k]
            verdict, why = "ok", ""
            if rc < 0:
                verdict, why = "fail", f"signal {-rc}" if rc != -999 else "timeout"
            elif out[:1] == ["ok"]:
                i, h, items = int(out[1]), int(out[2]), int(out[3])
                if commit.get(i) != (h, items):
                    verdict, why = "fail", f"contents are not the state of txn {i}"
                elif S is not None and i < S:
                    verdict, why = "fail", f"state of txn {i} < steady {S}"
                elif "cont-ok" not in out:
                    verdict, why = "fail", "continue/rewalk: " + " ".join(out[4:])[:80]
                else:
                    lags.append(i - (S or 0))
            else:
                if S is None:
                    verdict = "uninitialized"   # crash while creating: nothing acknowledged
                else:
                    verdict, why = "fail", " ".join(out)[:80] or f"exit {rc}: {p.stderr.strip()[:80]}"
            res[verdict] += 1
            by_strategy[f"{strategy}/{campaign.SECTOR}"][verdict] += 1
            if verdict == "fail":
                kind = why.split(":")[0].split(" of txn")[0]
                res["fail:" + kind] += 1
                if len(failures) < 8:
                    failures.append(f"state {s} k={k}/{n} {strategy} tear={campaign.SECTOR} steady={S}: {why}")
                if args.keep and kept < 5:
                    dst = os.path.join(args.keep, f"{args.variant}-{s}")
                    shutil.rmtree(dst, ignore_errors=True)
                    os.makedirs(dst)
                    rec.materialize(chosen, dst)
                    kept += 1
        summary = dict(variant=args.variant, seed=args.seed, txns=args.txns, ckpt_every=args.ckpt, ops=n,
                       checkpoints_acked=sum(1 for x in set(ckpt_before) if x is not None), states=args.states,
                       results=dict(res), by_strategy={k: dict(v) for k, v in sorted(by_strategy.items())},
                       rollback_txns_mean=round(sum(lags) / max(1, len(lags)), 1), rollback_txns_max=max(lags or [0]),
                       failures=failures, recording=runline, seconds=round(time.monotonic() - t0, 1))
        print(json.dumps(summary))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
