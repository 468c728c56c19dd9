#!/usr/bin/env python3
"""Flip campaign: random single-byte flips and truncations of a store's files and of an archive,
then every command on the result.

Targets (weights): data.mdb 40 % (live pages only, mapped by lmdb_pages.py: 85 % of flips land in
records — leaf nodes and overflow pages — and 15 % in structure — meta, branch nodes, page headers,
table roots), blob files 30 %, archives 20 % (an `export` of the pristine store), lease files 10 %
(empty lock files: garbage is written into them instead). 85 % of mutations are single-byte XOR
flips, 15 % truncations.

Each store case works on a copy of the pristine store and runs: stats, log, show --json and
get -o (a file result and an inline one, preferring one the damage can reach; one of them in the
short form), fsck, fsck --repair, fsck, a check of the store against the pristine one, import of
the pristine archive, and a last check. Each archive case imports the mutated archive into a
fresh store and into a copy of the pristine store.

Checks (any miss is a failure, listed with a reproducer):
- every command ends within --timeout with exit 0, 1, 3 or 4: never a signal, never 2;
- a get or show that succeeds serves exactly the acknowledged bytes / the original commit;
- a damaged blob file is detected: fsck exits 3;
- after fsck --repair, fsck exits 0; every commit still listed is identical to the pristine one
  (no altered record passes as valid), every commit whose records the flip could not reach is
  still listed, and results load bit-exactly (sha256 = acknowledged);
- importing the pristine archive then restores every commit (fsck 0, nothing altered);
- a lease-file case can still submit (CashetTestHelper writes);
- a mutated archive is refused (exit 3) and leaves its target as it was (no store created in a
  fresh directory; log --json, stats --json and objects/ unchanged in the pristine copy).

Damage that no store could repair (the current meta page, the root records of the tables, a
truncated data.mdb) only has to end in a defined way: after repair fsck may still say 3 or 4, and
commits may be lost, but nothing listed may be altered.

The pristine store is built per run (commit hashes include creation times, so two runs with one
seed get different bytes and the same relative flip positions); pass --sample-cache DIR to reuse
one store across runs and replay a case byte for byte, or --keep-failures DIR to keep each failing
case's mutated input with a case.json.

    python3 scripts/campaigns/flips.py --bin .build/debug --short        # 100 cases, ~40-75 s on 2 cores
    python3 scripts/campaigns/flips.py --bin .build/debug                # 1,000 cases
    python3 scripts/campaigns/flips.py --bin .build/debug --seed 5 --sample-cache /tmp/c --case 17   # one case again
"""

from __future__ import annotations

import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402
import lmdb_pages  # noqa: E402

CAMPAIGN = "flips"
SHORT_COUNT, LONG_COUNT = 100, 1000
TARGET_WEIGHTS = [("data.mdb", 40), ("blob", 30), ("archive", 20), ("lease", 10)]
TRUNCATE_SHARE = 0.15
STRUCTURE_SHARE = 0.15
# Regions whose damage no repair can undo: the store only has to refuse cleanly.
UNRECOVERABLE = ("meta-current", "subtree-root:", "truncate")


class Flips:
    def __init__(self, args):
        self.args = args
        self.campaign = common.Campaign(CAMPAIGN, args, os.path.relpath(os.path.abspath(__file__)))
        self.tools = common.Tools(args.bin, args.timeout)
        work = self.campaign.work
        self.sample = common.build_sample_store(self.tools, work, args.seed, min_file_blobs=3, min_inline=150,
                                                cache=args.sample_cache)
        self.mdb_path = os.path.join(self.sample.path, "data.mdb")
        with open(self.mdb_path, "rb") as handle:
            self.mdb_bytes = handle.read()
        self.page_map = lmdb_pages.read_map(self.mdb_path)
        self.data_ranges = [r for r in self.page_map.ranges if r.region.startswith(("leaf-node:", "overflow:"))]
        self.structure_ranges = [r for r in self.page_map.ranges if not r.region.startswith(("leaf-node:", "overflow:"))]
        # 32-byte identifiers → the commits whose records they belong to.
        self.identifiers: dict[bytes, set[str]] = {}
        for commit, obj in self.sample.log.items():
            keys = [commit, obj["fingerprint"].split(":")[-1]]
            if obj.get("output"):
                keys.append(obj["output"]["hash"])
            for key in keys:
                self.identifiers.setdefault(bytes.fromhex(key), set()).add(commit)
        self.blob_files = self.sample.blob_files()
        self.lease_files = sorted(f"leases/{n}" for n in os.listdir(os.path.join(self.sample.path, "leases")))
        common.progress(f"data.mdb: {self.page_map.last_page + 1} pages below the last used one, "
                        f"{len(self.page_map.pages)} live; {len(self.data_ranges)} record ranges, "
                        f"{len(self.structure_ranges)} structure ranges")

    # MARK: choosing a mutation

    def plan(self, index: int) -> dict:
        rng = common.case_rng(CAMPAIGN, self.args.seed, index)
        target = rng.choices([t for t, _ in TARGET_WEIGHTS], [w for _, w in TARGET_WEIGHTS])[0]
        truncate = rng.random() < TRUNCATE_SHARE
        case = {"target": target}
        if target == "data.mdb":
            case["file"] = "data.mdb"
            if truncate:
                case.update(mutation="truncate", length=rng.randrange(0, self.page_map.used_end), region="truncate")
            else:
                pool = self.structure_ranges if rng.random() < STRUCTURE_SHARE else self.data_ranges
                chosen = rng.choices(pool, [r.end - r.start for r in pool])[0]
                offset = rng.randrange(chosen.start, chosen.end)
                case.update(mutation="flip", offset=offset, mask=rng.randrange(1, 256), region=chosen.region,
                            page=offset // self.page_map.page_size)
        elif target == "blob":
            case["file"] = rng.choice(self.blob_files)
            size = os.path.getsize(os.path.join(self.sample.path, case["file"]))
            if truncate:
                case.update(mutation="truncate", length=rng.randrange(0, size))
            else:
                case.update(mutation="flip", offset=rng.randrange(0, size), mask=rng.randrange(1, 256))
        elif target == "lease":
            case["file"] = rng.choice(self.lease_files)
            case.update(mutation="garbage", offset=rng.randrange(0, 4096), mask=rng.randrange(1, 256))
        else:
            case["file"] = os.path.basename(self.sample.archive)
            size = os.path.getsize(self.sample.archive)
            if truncate:
                case.update(mutation="truncate", length=rng.randrange(0, size))
            else:
                case.update(mutation="flip", offset=rng.randrange(0, size), mask=rng.randrange(1, 256))
        case["rng"] = rng
        return case

    @staticmethod
    def apply(path: str, case: dict) -> None:
        if case["mutation"] == "truncate":
            os.truncate(path, case["length"])
            return
        with open(path, "r+b") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            if case["offset"] >= size:        # lease files are empty: write garbage past the end
                handle.seek(case["offset"])
                handle.write(bytes([case["mask"]]))
                return
            handle.seek(case["offset"])
            byte = handle.read(1)[0]
            handle.seek(case["offset"])
            handle.write(bytes([byte ^ case["mask"]]))

    def exempt(self, case: dict) -> tuple[set[str], bool]:
        """The commits this damage may rightly cost, and whether no repair could undo it."""
        if case["target"] == "blob":
            output = case["file"].split("/")[1] + case["file"].split("/")[2]
            return self.sample.commits_with_output(output), False
        if case["target"] != "data.mdb":
            return set(), False
        if case["mutation"] == "truncate":
            return set(self.sample.log), True
        region = next(r for r in self.page_map.ranges if r.start <= case["offset"] < r.end and r.region == case["region"])
        unrecoverable = case["region"].startswith(UNRECOVERABLE)
        return lmdb_pages.identifiers_in(self.mdb_bytes, region.scope, self.identifiers), unrecoverable

    # MARK: one case

    def run_case(self, index: int) -> None:
        case = self.plan(index)
        rng: random.Random = case.pop("rng")
        directory = os.path.join(self.campaign.work, f"case-{index}")
        common.remove_tree(directory)
        os.makedirs(directory)
        try:
            if case["target"] == "archive":
                ok = self.archive_case(index, case, directory)
            else:
                ok = self.store_case(index, case, rng, directory)
            if not ok:
                self.campaign.keep(index, [os.path.join(directory, "input")], case)
        finally:
            common.remove_tree(directory)

    def tally(self, index, case, command, outcome, allowed=common.ALLOWED_EXITS) -> bool:
        self.campaign.record(f"{case['target']}: {command}", outcome)
        return self.campaign.check_end(index, case, command, outcome, allowed)

    def store_case(self, index: int, case: dict, rng: random.Random, directory: str) -> bool:
        c, tools, sample = self.campaign, self.tools, self.sample
        failures_before = c.failure_count(index)
        store = os.path.join(directory, "store")
        common.copy_tree(sample.path, store)
        self.apply(os.path.join(store, case["file"]), case)
        if self.args.keep_failures:
            common.copy_tree(store, os.path.join(directory, "input"))
        exempt, unrecoverable = self.exempt(case)
        case_info = {k: v for k, v in case.items()}
        case_info["exempt_commits"] = len(exempt)
        c.note(f"region {case.get('region', case['target'])}")

        # Read-only commands on the damaged store.
        self.tally(index, case_info, "stats", tools.cashet(store, "stats", "--json"))
        self.tally(index, case_info, "log", tools.cashet(store, "log", "--json"))
        # A file result and an inline one (one of them at random in the short form), preferring
        # a commit the damage can reach.
        picks = [rng.choice(sorted(sample.file_commits)), rng.choice(sorted(sample.inline_commits))]
        if exempt:
            picks[0 if case["target"] == "blob" else rng.randrange(2)] = rng.choice(sorted(exempt))
        if self.args.short:
            picks = picks[:1] if case["target"] == "blob" else [rng.choice(picks)]
        for commit in picks:
            shown = tools.cashet(store, "show", commit, "--json")
            if self.tally(index, case_info, "show", shown) and shown.ok:
                try:
                    obj = json.loads(shown.text())
                    obj.pop("source", None), obj.pop("version", None), obj.pop("identity", None)
                    if obj != sample.log[commit]:
                        c.fail(index, case_info, "show", f"show {commit[:16]} exited 0 with an altered commit: "
                               f"{common.first_difference(sample.log[commit], obj)}", shown)
                except (json.JSONDecodeError, KeyError) as error:
                    c.fail(index, case_info, "show", f"show --json printed no commit object ({error})", shown)
            out_file = os.path.join(directory, "got")
            got = tools.cashet(store, "get", commit, "-o", out_file, "--binary")
            if self.tally(index, case_info, "get", got) and got.ok:
                digest = common.sha256_file(out_file)
                if digest != sample.acknowledged[commit]:
                    c.fail(index, case_info, "get", f"get {commit[:16]} exited 0 with wrong bytes "
                           f"(sha256 {digest[:16]}, acknowledged {sample.acknowledged[commit][:16]})", got)
            if os.path.exists(out_file):
                os.unlink(out_file)

        # fsck, repair, fsck.
        fsck = tools.cashet(store, "fsck", "--json")
        if self.tally(index, case_info, "fsck", fsck) and case["target"] == "blob" and fsck.code != common.EXIT_DAMAGED:
            c.fail(index, case_info, "fsck", f"fsck missed a damaged result file ({fsck.label}, expected exit 3)", fsck)
        repair = tools.cashet(store, "fsck", "--repair", "--rebuild", "--json")
        self.tally(index, case_info, "fsck --repair", repair)
        after = tools.cashet(store, "fsck", "--json")
        allowed_after = common.ALLOWED_EXITS if unrecoverable else {common.EXIT_OK}
        self.tally(index, case_info, "fsck after repair", after, allowed_after)
        if unrecoverable and after.code != 0:
            c.note("unrecoverable damage refused after repair")

        # Nothing valid lost, nothing altered, results bit-exact.
        problems, facts = common.check_store(tools, store, sample, rng, directory, exempt=exempt, at_risk=exempt,
                                             at_risk_limit=2 if self.args.short else 6,
                                             get_sample=0 if self.args.short else 2, verify_all=self.args.verify_all,
                                             allow_missing=unrecoverable)
        c.note("commits lost to damage (allowed)", facts["lost_exempt"])
        for problem in problems:
            c.fail(index, case_info, "check after repair", problem)

        if case["target"] == "lease":
            log_file = os.path.join(directory, "writes.log")
            writes = tools.writes(store, log_file, 900_000 + index, 2)
            self.tally(index, case_info, "submit", writes, {0})

        # The pristine archive restores whatever the repair removed (when the store is usable).
        imported = tools.cashet(store, "import", sample.archive, "--json")
        restorable = not unrecoverable or after.code == 0
        self.tally(index, case_info, "import", imported, {0} if restorable else common.ALLOWED_EXITS)
        if imported.ok:
            # An import into a store the repair could not mend may skip every commit (they are
            # there, unreadable): it restores nothing, so the store stays as the repair left it.
            final = tools.cashet(store, "fsck")
            self.tally(index, case_info, "fsck after import", final, {0} if restorable else common.ALLOWED_EXITS)
        if imported.ok and restorable:
            extra = common.read_acknowledged(os.path.join(directory, "writes.log"))
            problems, _ = common.check_store(tools, store, sample, rng, directory, extra=extra, at_risk=exempt | set(extra),
                                             at_risk_limit=1 if self.args.short else 4,
                                             get_sample=0 if self.args.short else 1, verify_all=self.args.verify_all)
            for problem in problems:
                c.fail(index, case_info, "check after import", problem)
        return c.failure_count(index) == failures_before

    def archive_case(self, index: int, case: dict, directory: str) -> bool:
        c, tools, sample = self.campaign, self.tools, self.sample
        failures_before = c.failure_count(index)
        archive = os.path.join(directory, "input")
        common.copy_tree(sample.archive, archive)
        self.apply(archive, case)
        case_info = dict(case)

        fresh = os.path.join(directory, "fresh")
        imported = tools.cashet(fresh, "import", archive, "--json")
        self.tally(index, case_info, "import into fresh store", imported, {common.EXIT_DAMAGED})
        if imported.code != 0 and os.path.lexists(fresh):
            c.fail(index, case_info, "import into fresh store",
                   f"a refused import left {sorted(os.listdir(fresh))[:5]} behind in the new store directory", imported)

        store = os.path.join(directory, "store")
        common.copy_tree(sample.path, store)
        before = common.store_state(tools, store)
        imported = tools.cashet(store, "import", archive, "--json")
        self.tally(index, case_info, "import into pristine copy", imported, {common.EXIT_DAMAGED})
        difference = common.state_difference(before, common.store_state(tools, store))
        if difference:
            c.fail(index, case_info, "import into pristine copy", f"the store changed: {difference}", imported)
        fsck = tools.cashet(store, "fsck")
        self.tally(index, case_info, "fsck after import", fsck, {0})
        return c.failure_count(index) == failures_before

    def run(self) -> int:
        indices = self.campaign.indices()
        common.progress(f"{CAMPAIGN}: {len(indices)} cases, seed {self.args.seed}")
        self.campaign.run_cases(indices, self.run_case)
        def defect(failure: dict) -> str:
            if failure.get("target") == "data.mdb":
                kind, _, table = failure.get("region", "?").partition(":")
                where = f"data.mdb {kind}:{table}" if kind in ("leaf-node", "overflow") else f"data.mdb {kind}"
            else:
                where = failure.get("target", "?")
            end = failure.get("end", "")
            crashed = end.startswith(("signal", "timeout"))
            what = end if crashed or (end and not failure["command"].startswith(("check", "show", "get"))) \
                else common.normalize(failure["problem"], 60)
            return f"{where} | {failure['command']} | {what}"

        return self.campaign.finish({
            "defects": [{k: g[k] for k in ("defect", "count", "cases")} | {"reproducer": g["example"]["reproducer"]}
                        for g in self.campaign.defects(defect)],
            "sample": {"commits": len(self.sample.log), "file_results": len(self.sample.file_commits),
                       "blob_files": len(self.blob_files), "data_mdb_pages": self.page_map.last_page + 1,
                       "live_pages": len(self.page_map.pages)},
        })


def main(argv=None) -> int:
    args = common.parse_args(CAMPAIGN, __doc__.split("\n\n")[0], SHORT_COUNT, LONG_COUNT, argv=argv)
    return Flips(args).run()


if __name__ == "__main__":
    sys.exit(main())
