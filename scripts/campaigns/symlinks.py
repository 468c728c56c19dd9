#!/usr/bin/env python3
"""Symlink and permission campaign: every directory and file of a store replaced in turn by a
symbolic link to a canary outside the store, or made unreadable, then gc, fsck, repair, a large
submit and an import.

Paths: objects, objects/tmp, objects/ab (a shard holding a result file), objects/ab/cdef… (a
result file), objects/lock, leases, leases/N, data.mdb, lock.mdb, journal. Sabotage, for each path:
- link-dir, link-file: the path is moved away and replaced by a symbolic link to a canary
  directory (full of files shaped like store files: hex-named results, PID-RANDOM staging files,
  lock files, lease files, all 40 days old) or to a canary file; commands run as root, which
  could delete or write through the link;
- link-missing: a dangling link to a path inside the canary directory that does not exist (a
  store that creates through it would create files in the canary);
- chmod000: the path is made unreadable (mode 000) and every command runs as `nobody` (through
  setpriv) on a store owned by `nobody`: root ignores permission bits.

Each case runs, on a fresh copy of the pristine store and a fresh canary: gc; fsck; fsck
--repair; fsck; `CashetTestHelper writes` (a few steps including a large result); import of a
second store's archive; then (chmod000) the mode is restored and everything checked again;
finally the sabotage is planted again and `gc --older-than 0` runs with it in place.

Checks (any miss is a failure):
- nothing ends by a signal, a timeout or exit 2 (the helper exits 2 on any error, so it may);
- the canary is untouched after every command (same tree hash: names, modes, sizes, contents);
- nothing valid is removed: every commit of the pristine store whose data is not the
  sabotaged path itself is still listed, unaltered, and its result loads bit-exactly; for
  chmod000 nothing at all may be lost once the mode is restored;
- links: fsck exits 3 and names the path; fsck --repair removes the link itself (never its
  target), after which fsck exits 0 — except data.mdb and lock.mdb, which keep the store from
  opening: every command must then exit 3 or 4 and name the path (so does an unreadable
  journal);
- unreadable results (chmod000 on a result, its shard, objects) are never reported clean
  (fsck exits 3 or 4) and never removed;
- an import that fails leaves `log --json` as it was.

    python3 scripts/campaigns/symlinks.py --bin .build/debug --short    # every path x sabotage once (40 cases)
    python3 scripts/campaigns/symlinks.py --bin .build/debug            # 4 rounds, other shards, results, leases
"""

from __future__ import annotations

import os
import random
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

CAMPAIGN = "symlinks"
PATHS = ["objects", "objects/tmp", "objects/SHARD", "objects/SHARD/BLOB", "objects/lock",
         "leases", "leases/N", "data.mdb", "lock.mdb", "journal"]
SABOTAGE = ["link-dir", "link-file", "link-missing", "chmod000"]
KINDS = [(p, s) for p in PATHS for s in SABOTAGE]
SHORT_COUNT, LONG_COUNT = len(KINDS), 4 * len(KINDS)
LMDB_FILES = ("data.mdb", "lock.mdb")
OLD = time.time() - 40 * 86_400


def make_canary(root: str, rng: random.Random) -> None:
    """A canary directory shaped like the inside of a store, and a canary file, all 40 days old."""
    assert os.path.realpath(root).startswith("/tmp/"), root
    directory = os.path.join(root, "dir")
    for shard in ("ab", "0f"):
        os.makedirs(os.path.join(directory, shard))
        for _ in range(2):
            name = "".join(rng.choice("0123456789abcdef") for _ in range(62))
            _write(os.path.join(directory, shard, name), rng.randbytes(rng.randrange(1, 5000)))
    os.makedirs(os.path.join(directory, "tmp"))
    for _ in range(3):
        _write(os.path.join(directory, "tmp", f"{rng.randrange(100, 99999)}-{rng.randbytes(8).hex()}"), rng.randbytes(300))
    for name in ("lock", "0", "1", "17", "63", "data.mdb", "lock.mdb", "notes.txt"):
        _write(os.path.join(directory, name), rng.randbytes(rng.randrange(0, 2000)))
    _write(os.path.join(root, "file"), rng.randbytes(64 << 10))
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + dirnames:
            os.utime(os.path.join(dirpath, name), (OLD, OLD))
    os.utime(root, (OLD, OLD))


def _write(path: str, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)


class Symlinks:
    def __init__(self, args):
        self.args = args
        self.campaign = common.Campaign(CAMPAIGN, args, os.path.relpath(os.path.abspath(__file__)))
        self.tools = common.Tools(args.bin, args.timeout)
        work = self.campaign.work
        self.sample = common.build_sample_store(self.tools, work, args.seed, min_file_blobs=3, min_inline=30,
                                                cache=args.sample_cache)
        # A second store whose archive each case imports: new commits, new result files.
        # Its largest result is above the CLI's file threshold (1 MiB), so the import writes a file.
        self.donor = common.build_sample_store(self.tools, work, args.seed + 7_777, min_file_blobs=2, min_inline=10,
                                               name="donor", cache=args.sample_cache, min_large_file=(1 << 20) + (64 << 10))
        os.chmod(self.donor.archive, 0o644)   # imported by `nobody` too
        self.submit_seed = self.find_large_seed(work)
        # Canaries live under /tmp only, whatever --work says: links never point anywhere else.
        self.canaries = tempfile.mkdtemp(prefix="cashet-canary-", dir="/tmp")
        os.chmod(self.canaries, 0o755)
        self.shards = sorted({f.split("/")[1] for f in self.sample.blob_files()})
        self.leases = sorted(os.listdir(os.path.join(self.sample.path, "leases")), key=int)

    def from_submit(self, obj: dict) -> bool:
        """Whether a commit is a call of the submit step (keys of CampaignWorkload: (seed % 1e6 * 1e5 + step) * 1000 + i):
        a submit that fails part way may leave results it never acknowledged, and that is fine."""
        try:
            key = int(obj["args"].strip("()"))
        except ValueError:
            return False
        return obj["function"].startswith("campaign-") and 0 <= key // 1000 - (self.submit_seed % 1_000_000) * 100_000 < 3

    def find_large_seed(self, work: str) -> int:
        """A seed whose first 3 steps of `writes` store a result file (so the submit step writes through objects/)."""
        probe = os.path.join(work, "probe")
        for candidate in range(self.args.seed % 100_000 + 500_000, self.args.seed % 100_000 + 500_200):
            common.remove_tree(probe)
            outcome = self.tools.writes(probe, os.path.join(work, "probe.log"), candidate, 3)
            if outcome.ok and any(True for _ in common.blob_files_on_disk(probe)):
                common.remove_tree(probe)
                common.progress(f"submit seed {candidate} writes a result file in 3 steps")
                return candidate
        raise RuntimeError("no seed found whose first steps store a result file")

    # MARK: one case

    def plan(self, index: int) -> dict:
        rng = common.case_rng(CAMPAIGN, self.args.seed, index)
        kind, sabotage = KINDS[index % len(KINDS)]
        shard = rng.choice(self.shards)
        blob = rng.choice(sorted(f for f in self.sample.blob_files() if f.split("/")[1] == shard)).split("/")[2]
        lease = rng.choice(self.leases)
        path = {"objects/SHARD": f"objects/{shard}", "objects/SHARD/BLOB": f"objects/{shard}/{blob}",
                "leases/N": f"leases/{lease}"}.get(kind, kind)
        return {"path": path, "kind": kind, "sabotage": sabotage, "rng": rng}

    def under(self, case: dict) -> set[str]:
        """Commits whose result file is the sabotaged path or below it."""
        rel = case["path"]
        if rel == "data.mdb":
            return set(self.sample.log)
        if case["kind"] not in ("objects", "objects/SHARD", "objects/SHARD/BLOB"):
            return set()
        return {c for c in self.sample.file_commits
                if os.path.relpath(common.blob_path(self.sample.path, self.sample.output_of(c)), self.sample.path).startswith(rel + "/")
                or os.path.relpath(common.blob_path(self.sample.path, self.sample.output_of(c)), self.sample.path) == rel}

    def sabotage(self, store: str, case: dict, canary: str, aside: str) -> None:
        target = os.path.join(store, case["path"])
        if case["sabotage"] == "chmod000":
            os.chmod(target, 0)
            return
        link_to = {"link-dir": os.path.join(canary, "dir"), "link-file": os.path.join(canary, "file"),
                   "link-missing": os.path.join(canary, "dir", "missing", "target")}[case["sabotage"]]
        assert os.path.abspath(link_to).startswith(self.canaries + "/") and self.canaries.startswith("/tmp/"), link_to
        if os.path.lexists(target) and not os.path.islink(target):
            moved = os.path.join(aside, case["path"])
            while os.path.lexists(moved):      # planted again: keep every original
                moved += ".again"
            os.makedirs(os.path.dirname(moved), exist_ok=True)
            shutil.move(target, moved)
        elif os.path.islink(target):
            os.unlink(target)
        os.symlink(link_to, target)

    def planted(self, store: str, case: dict) -> bool:
        target = os.path.join(store, case["path"])
        if case["sabotage"] == "chmod000":
            return os.path.lexists(target) and (os.lstat(target).st_mode & 0o777) == 0
        return os.path.islink(target)

    def run_case(self, index: int) -> None:
        case = self.plan(index)
        rng: random.Random = case.pop("rng")
        directory = os.path.join(self.campaign.work, f"case-{index}")
        canary = os.path.join(self.canaries, f"case-{index}")
        for path in (directory, canary):
            common.remove_tree(path)
        os.makedirs(directory)
        os.chmod(directory, 0o755)
        os.makedirs(canary)
        make_canary(canary, self.canary_rng(index))
        failures_before = self.campaign.failure_count(index)
        try:
            self.case_body(index, case, rng, directory, canary)
        finally:
            if self.campaign.failure_count(index) != failures_before:
                self.campaign.keep(index, [os.path.join(directory, "store"), canary], case)
            common.remove_tree(directory)
            common.remove_tree(canary)

    def case_body(self, index: int, case: dict, rng: random.Random, directory: str, canary: str) -> None:
        c, tools, sample = self.campaign, self.tools, self.sample
        store = os.path.join(directory, "store")
        aside = os.path.join(directory, "aside")
        common.copy_tree(sample.path, store)
        nobody = case["sabotage"] == "chmod000"
        if nobody:
            common.chown_tree(directory)
        canary_before = common.tree_entries(canary)
        self.sabotage(store, case, canary, aside)
        # A link replaces the path's data (those commits may go); an unreadable path only keeps
        # its results from loading until the mode is restored (nothing may go).
        exempt = set() if nobody else self.under(case)
        unloadable = self.under(case) if nobody else set()
        lmdb_link = case["path"] in LMDB_FILES and not nobody
        # An unreadable journal keeps the store from opening too (its commits would be missed);
        # a link in its place is damage like any other (the store writes without it).
        unusable = case["path"] in LMDB_FILES or (case["path"] == "journal" and nobody)
        label = f"{case['kind']} {case['sabotage']}"
        info = {"path": case["path"], "kind": case["kind"], "sabotage": case["sabotage"]}
        extra: dict[str, str] = {}
        c.note(f"case {label}")

        def cashet(command: str, *argv, allowed=common.ALLOWED_EXITS):
            outcome = tools.cashet(store, *argv, as_nobody=nobody)
            c.record(f"{label}: {command}", outcome)
            c.check_end(index, info, command, outcome, allowed)
            self.check_canary(index, info, command, canary, canary_before)
            return outcome

        def names_path(outcome) -> bool:
            text = (outcome.stdout + outcome.stderr).decode("utf-8", "replace")
            return case["path"] in text

        def check(command: str, exempt_now: set[str], skip: set[str] = frozenset()):
            problems, facts = common.check_store(tools, store, sample, rng, directory, exempt=exempt_now, extra=extra,
                                                 get_sample=1 if self.args.short else 3, verify_all=self.args.verify_all,
                                                 as_nobody=nobody, skip_get=skip, tolerate=self.from_submit,
                                                 at_risk=set(sample.file_commits) | set(extra), at_risk_limit=3)
            c.note("results of a failed submit kept (not acknowledged)", facts.get("unacknowledged", 0))
            for problem in problems:
                c.fail(index, info, command, problem)

        # 1. gc with the sabotage in place: removes nothing valid, never goes through the link.
        gc = cashet("gc", "gc")
        if not unusable:
            check("check after gc", exempt, unloadable | exempt)     # before a repair, the link's commits are still listed
        elif gc.code not in (3, 4):
            c.fail(index, info, "gc", f"gc on a store whose {case['path']} is a link/unreadable exited {gc.label}", gc)

        # 2. fsck: a link is damage, named; an unreadable result is never clean.
        fsck = cashet("fsck", "fsck")
        if not nobody:
            if fsck.code != common.EXIT_DAMAGED or not names_path(fsck):
                c.fail(index, info, "fsck", f"fsck should exit 3 naming {case['path']} (a link in the store); "
                       f"it exited {fsck.label}{'' if names_path(fsck) else ' without naming it'}", fsck)
        elif case["kind"] in ("objects", "objects/SHARD", "objects/SHARD/BLOB", "data.mdb") and fsck.code == 0:
            c.fail(index, info, "fsck", f"fsck reported a store with unreadable {case['path']} as clean", fsck)

        # 3. repair: removes the link itself, never its target, never a valid result.
        repair = cashet("fsck --repair", "fsck", "--repair")
        if not nobody and not lmdb_link and os.path.islink(os.path.join(store, case["path"])):
            c.fail(index, info, "fsck --repair", f"fsck --repair left the link {case['path']} in place", repair)
        after = cashet("fsck after repair", "fsck")
        if not nobody and not lmdb_link and after.code != 0:
            c.fail(index, info, "fsck after repair", f"fsck after repair exited {after.label}, expected 0", after)
        if lmdb_link and after.code not in (3, 4):
            c.fail(index, info, "fsck after repair", f"a store whose {case['path']} is a link opened ({after.label})", after)
        if not unusable:
            check("check after repair", exempt, unloadable)

        # 4. a large submit (the helper exits 2 on any error).
        log_file = os.path.join(directory, "writes.log")
        writes = tools.writes(store, log_file, self.submit_seed, 3, as_nobody=nobody)
        c.record(f"{label}: submit", writes)
        c.check_end(index, info, "submit", writes, {0, 2})
        self.check_canary(index, info, "submit", canary, canary_before)
        extra.update(common.read_acknowledged(log_file))

        # 5. import of another store's archive: all or nothing.
        before = tools.cashet(store, "log", "--json", as_nobody=nobody)
        imported = cashet("import", "import", self.donor.archive)
        if imported.ok:
            extra.update({commit: self.donor.acknowledged[commit] for commit in self.donor.log})
        elif before.code in (0, 1):
            now = tools.cashet(store, "log", "--json", as_nobody=nobody)
            if now.stdout != before.stdout:
                c.fail(index, info, "import", "a failed import changed the store's log", imported)
        if not unusable:
            check("check after submit and import", exempt, unloadable)

        # 6. chmod000: with the mode restored, nothing at all may be missing.
        if nobody:
            target = os.path.join(store, case["path"])
            os.chmod(target, 0o700 if os.path.isdir(target) else 0o600)
            check("check after restoring the mode", set())
            cashet("fsck after restoring the mode", "fsck", allowed={0})

        # 7. gc --older-than 0 with the sabotage planted again: everything may go, but only in the store.
        if not self.planted(store, case):
            self.sabotage(store, case, canary, aside)
        cashet("gc --older-than 0", "gc", "--older-than", "0")
        self.check_canary(index, info, "end of case", canary, canary_before)

    def canary_rng(self, index: int) -> random.Random:
        return random.Random(f"canary:{self.args.seed}:{index}")

    def check_canary(self, index: int, info: dict, command: str, canary: str, before: dict) -> None:
        after = common.tree_entries(canary)
        if after != before:
            self.campaign.fail(index, info, command, "the canary outside the store changed: " + "; ".join(common.tree_diff(before, after, 6)))
            # Restore it, so that later commands of the case are judged on their own.
            common.remove_tree(canary)
            os.makedirs(canary)
            make_canary(canary, self.canary_rng(index))

    def run(self) -> int:
        indices = self.campaign.indices()
        common.progress(f"{CAMPAIGN}: {len(indices)} cases, seed {self.args.seed}, canaries in {self.canaries}")
        try:
            self.campaign.run_cases(indices, self.run_case)
        finally:
            common.remove_tree(self.canaries)

        def defect(failure: dict) -> str:
            kind = failure.get("kind", "?")
            what = failure.get("end") if failure.get("end", "").startswith(("signal", "timeout")) else common.normalize(failure["problem"], 70)
            return f"{kind} {failure.get('sabotage', '?')} | {failure['command']} | {what}"

        return self.campaign.finish({
            "defects": [{k: g[k] for k in ("defect", "count", "cases")} | {"reproducer": g["example"]["reproducer"]}
                        for g in self.campaign.defects(defect)],
            "sample": {"commits": len(self.sample.log), "file_results": len(self.sample.file_commits),
                       "donor_commits": len(self.donor.log)},
        })


def main(argv=None) -> int:
    args = common.parse_args(CAMPAIGN, __doc__.split("\n\n")[0], SHORT_COUNT, LONG_COUNT, argv=argv)
    return Symlinks(args).run()


if __name__ == "__main__":
    sys.exit(main())
