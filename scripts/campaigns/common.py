"""Shared machinery of the adversarial campaigns (flips.py, symlinks.py, import_mutation.py).

Python 3.11 standard library only. What lives here, and only here:

- the command line every campaign takes (--bin, --short, --count, --seed, --case, --jobs,
  --timeout, --keep-failures, --work, --verify-all);
- running a command with a time limit and classifying how it ended (exit code, signal, timeout),
  optionally as an unprivileged user;
- building a sample store with `CashetTestHelper writes` (small inline results and large file
  results), exporting it, and copying it for each case;
- hashing a directory tree without following links (the canary check);
- checking a store against the pristine one: every commit still listed must be identical,
  every valid one must still be listed, and results must load bit-exactly;
- tallying outcomes (command x exit) and failures with reproducers, and the one JSON summary on
  stdout.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

# Exit codes the CLI documents (README, "CLI").
EXIT_OK, EXIT_NOT_FOUND, EXIT_USAGE, EXIT_DAMAGED, EXIT_UNUSABLE = 0, 1, 2, 3, 4
# What any command may end with on damaged or hostile input: never 2 (usage), never a signal,
# never a timeout.
ALLOWED_EXITS = frozenset({EXIT_OK, EXIT_NOT_FOUND, EXIT_DAMAGED, EXIT_UNUSABLE})

NOBODY_UID, NOBODY_GID = 65534, 65534

# The sample store: files from 256 KiB (CampaignWorkload.configuration).
FILE_THRESHOLD = 256 << 10

_START = time.monotonic()
_print_lock = threading.Lock()


def progress(message: str) -> None:
    """One line on stderr, prefixed with the seconds since start."""
    with _print_lock:
        sys.stderr.write(f"[{time.monotonic() - _START:7.1f}s] {message}\n")
        sys.stderr.flush()


# MARK: command line


def parse_args(name: str, description: str, short_count: int, long_count: int,
               extra: callable | None = None, argv: list[str] | None = None) -> argparse.Namespace:
    """The options every campaign takes; `extra(parser)` adds the campaign's own."""
    parser = argparse.ArgumentParser(prog=name, description=description)
    parser.add_argument("--bin", default=os.environ.get("CASHET_BIN_DIR"),
                        help="directory holding `cashet` and `CashetTestHelper` (default: $CASHET_BIN_DIR)")
    parser.add_argument("--short", action="store_true",
                        help=f"the short form run by the Swift test suite ({short_count} cases by default)")
    parser.add_argument("--count", type=int, default=None,
                        help=f"number of cases (default: {long_count}; {short_count} with --short)")
    parser.add_argument("--seed", type=int, default=None, help="seed (default: random, printed in the summary)")
    parser.add_argument("--case", type=int, action="append", default=[],
                        help="run only this case index (repeatable): reproduces a listed failure with the same --seed")
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once (default 2: the 2-core target machine)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds any one command may take (default 30)")
    parser.add_argument("--keep-failures", metavar="DIR", default=None,
                        help="copy the input of every failing case (mutated store or archive) here")
    parser.add_argument("--work", metavar="DIR", default=None,
                        help="scratch directory (default: a new one under $TMPDIR, removed at the end)")
    parser.add_argument("--sample-cache", metavar="DIR", default=None,
                        help="keep the pristine sample store (and its archive) here and reuse it on later runs with the "
                             "same --seed: commit hashes include creation times, so only a reused sample replays a case byte for byte")
    parser.add_argument("--verify-all", action="store_true",
                        help="load every result bit-exactly after each case (default: every file result and a random sample of inline ones; all are checked by log --json and fsck)")
    if extra:
        extra(parser)
    args = parser.parse_args(argv)
    if not args.bin:
        parser.error("--bin DIR is required (or set $CASHET_BIN_DIR)")
    args.bin = os.path.abspath(args.bin)
    for tool in ("cashet", "CashetTestHelper"):
        if not os.access(os.path.join(args.bin, tool), os.X_OK):
            parser.error(f"{args.bin}/{tool} is missing or not executable")
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 1 << 31)
    if args.count is None:
        args.count = short_count if args.short else long_count
    args.jobs = max(1, args.jobs)
    return args


def case_rng(campaign: str, seed: int, index: int) -> random.Random:
    """The random source of one case: depends only on (campaign, seed, index), so `--case I` replays it."""
    return random.Random(f"{campaign}:{seed}:{index}")


# MARK: running commands


@dataclass
class Outcome:
    """How one command ended."""
    argv: list[str]
    code: int | None          # exit code, or None when killed by a signal / timed out
    signal: str | None        # e.g. "SIGSEGV"
    timed_out: bool
    stdout: bytes
    stderr: bytes
    seconds: float

    @property
    def label(self) -> str:
        if self.timed_out:
            return "timeout"
        if self.signal:
            return f"signal {self.signal}"
        return f"exit {self.code}"

    @property
    def ok(self) -> bool:
        return self.code == 0

    def allowed(self, allowed=ALLOWED_EXITS) -> bool:
        return not self.timed_out and self.signal is None and self.code in allowed

    def text(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    def excerpt(self, limit: int = 400) -> str:
        """For failure reports: the crash line and the crashed thread's first frames after a signal
        (Swift's backtracer, see ``BACKTRACE``); else the end of stderr (or stdout when it is empty)."""
        raw = (self.stderr or self.stdout).decode("utf-8", "replace").strip()
        if self.signal and "Program crashed" in raw:
            lines = raw.splitlines()
            start = next(i for i, line in enumerate(lines) if "Program crashed" in line)
            keep = [lines[start].strip("* ")]
            crashed = next((i for i, line in enumerate(lines) if line.rstrip().endswith("crashed:")), None)
            if crashed is not None:
                keep += [line.strip() for line in lines[crashed + 1: crashed + 10] if line.strip() and line.strip() != "..."][:6]
            raw = " | ".join(keep)
            return raw if len(raw) <= limit else raw[:limit] + "…"
        return raw if len(raw) <= limit else "…" + raw[-limit:]


def unprivileged_prefix(uid: int = NOBODY_UID, gid: int = NOBODY_GID) -> list[str]:
    """Runs what follows as `nobody` (root ignores permission bits, so unreadable files need this)."""
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]


# Swift's crash backtracer, kept short and fast (fully symbolicated it takes seconds per crash).
BACKTRACE = "enable=yes,symbolicate=fast,threads=crashed,registers=none,images=none,limit=24"


def run(argv: list[str], timeout: float, env: dict | None = None, as_nobody: bool = False,
        cwd: str | None = None) -> Outcome:
    """Runs `argv` in its own process group with stdin closed; kills the group at `timeout`."""
    full = (unprivileged_prefix() if as_nobody else []) + [str(a) for a in argv]
    environment = dict(os.environ)
    environment.pop("CASHET_DIR", None)
    environment["NO_COLOR"] = "1"
    environment.setdefault("SWIFT_BACKTRACE", BACKTRACE)
    if env:
        environment.update(env)
    started = time.monotonic()
    process = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=environment, cwd=cwd, start_new_session=True)
    timed_out = False
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = process.communicate()
    seconds = time.monotonic() - started
    code, sig = process.returncode, None
    if not timed_out and code is not None and code < 0:
        try:
            sig = signal.Signals(-code).name
        except ValueError:
            sig = f"signal{-code}"
        code = None
    if timed_out:
        code = None
    return Outcome(full, code, sig, timed_out, out, err, seconds)


class Tools:
    """The two binaries, with the campaign's time limit."""

    def __init__(self, bin_dir: str, timeout: float):
        self.cashet_path = os.path.join(bin_dir, "cashet")
        self.helper_path = os.path.join(bin_dir, "CashetTestHelper")
        self.timeout = timeout

    def cashet(self, store: str, *args, as_nobody: bool = False, timeout: float | None = None,
               cwd: str | None = None) -> Outcome:
        return run([self.cashet_path, "--store", store, *args], timeout or self.timeout, as_nobody=as_nobody, cwd=cwd)

    def writes(self, store: str, log: str, seed: int, steps: int, as_nobody: bool = False,
               timeout: float | None = None) -> Outcome:
        """`CashetTestHelper writes`: appends `ok COMMIT SHA256` lines to `log` (exits 2 on an error)."""
        return run([self.helper_path, "writes", store, log, seed, steps], timeout or max(self.timeout, 120),
                   env={"CASHET_DURABILITY": "durable"}, as_nobody=as_nobody)


# MARK: files


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def tree_entries(root: str) -> dict[str, str]:
    """Every entry below `root` (links not followed): relative path → type, mode, size and content hash
    (or link target). `root` itself is included as ".". Unreadable files hash as "unreadable"."""
    entries: dict[str, str] = {}

    def describe(path: str, rel: str) -> None:
        st = os.lstat(path)
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISLNK(st.st_mode):
            entries[rel] = f"link {os.readlink(path)}"
        elif stat.S_ISDIR(st.st_mode):
            entries[rel] = f"dir {mode:o}"
            for name in sorted(os.listdir(path)):
                describe(os.path.join(path, name), name if rel == "." else f"{rel}/{name}")
        elif stat.S_ISREG(st.st_mode):
            try:
                content = sha256_file(path)
            except OSError:
                content = "unreadable"
            entries[rel] = f"file {mode:o} {st.st_size} {content}"
        else:
            entries[rel] = f"other {stat.S_IFMT(st.st_mode):o} {mode:o}"

    if os.path.lexists(root):
        describe(root, ".")
    return entries


def tree_hash(root: str) -> str:
    """One hash of ``tree_entries``: equal exactly when nothing below `root` changed."""
    return sha256_bytes(json.dumps(tree_entries(root), sort_keys=True).encode())


def tree_diff(before: dict[str, str], after: dict[str, str], limit: int = 12) -> list[str]:
    """What changed between two ``tree_entries``, as short lines."""
    lines = []
    for rel in sorted(set(before) | set(after)):
        a, b = before.get(rel), after.get(rel)
        if a == b:
            continue
        if b is None:
            lines.append(f"removed {rel}")
        elif a is None:
            lines.append(f"added {rel}")
        else:
            lines.append(f"changed {rel}: {a} -> {b}")
    return lines[:limit] + ([f"... {len(lines) - limit} more"] if len(lines) > limit else [])


def copy_tree(source: str, destination: str) -> None:
    """`cp -a`: ownership, modes, times; faster than re-running the workload."""
    subprocess.run(["cp", "-a", source, destination], check=True)


def remove_tree(path: str) -> None:
    """Removes `path` (restoring permissions on the way, as chmod 000 cases leave some)."""
    if not os.path.lexists(path):
        return
    if os.path.islink(path) or not os.path.isdir(path):
        os.unlink(path)
        return
    for dirpath, dirnames, _ in os.walk(path):
        for name in dirnames:
            full = os.path.join(dirpath, name)
            if not os.path.islink(full):
                try:
                    os.chmod(full, 0o700)
                except OSError:
                    pass
    shutil.rmtree(path, ignore_errors=True)


def chown_tree(path: str, uid: int = NOBODY_UID, gid: int = NOBODY_GID) -> None:
    """Chowns `path` and everything below it, links themselves (never their targets)."""
    os.lchown(path, uid, gid)
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), uid, gid)


# MARK: the sample store


def read_acknowledged(log_path: str) -> dict[str, str]:
    """`ok COMMIT SHA256` lines → commit → sha256 of its result."""
    acknowledged: dict[str, str] = {}
    if not os.path.exists(log_path):
        return acknowledged
    with open(log_path) as handle:
        for line in handle:
            parts = line.split()
            if len(parts) == 3 and parts[0] == "ok":
                acknowledged[parts[1]] = parts[2]
    return acknowledged


def parse_log_json(outcome: Outcome) -> dict[str, dict] | None:
    """`log --json` output → commit → its JSON object (None when a line is not JSON)."""
    commits: dict[str, dict] = {}
    for line in outcome.text().splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            return None
        commits[obj["hash"]] = obj
    return commits


def blob_path(store: str, output_hash: str) -> str:
    return os.path.join(store, "objects", output_hash[:2], output_hash[2:])


@dataclass
class SampleStore:
    """A pristine store, built once per run; each case works on a copy."""
    path: str
    acknowledged: dict[str, str]           # commit → sha256 of its result (from the workload's log)
    log: dict[str, dict]                    # commit → `log --json` object
    stats: dict                             # `stats --json`
    archive: str | None = None              # `export` of the whole store
    file_commits: list[str] = field(default_factory=list)     # commits whose result is a file
    inline_commits: list[str] = field(default_factory=list)

    @property
    def commits(self) -> list[str]:
        return sorted(self.log)

    def output_of(self, commit: str) -> str | None:
        output = self.log[commit].get("output")
        return output["hash"] if output else None

    def commits_with_output(self, output_hash: str) -> set[str]:
        return {c for c, obj in self.log.items() if (obj.get("output") or {}).get("hash") == output_hash}

    def blob_files(self) -> list[str]:
        """Relative paths of the result files (objects/ab/cdef…)."""
        found = set()
        for commit in self.file_commits:
            found.add(os.path.relpath(blob_path(self.path, self.output_of(commit)), self.path))
        return sorted(found)


def build_sample_store(tools: Tools, directory: str, seed: int, min_file_blobs: int = 3, min_inline: int = 40,
                       steps: int = 1, max_rounds: int = 80, export: bool = True, name: str = "pristine",
                       cache: str | None = None, max_commits: int = 300, min_large_file: int = 0) -> SampleStore:
    """Runs `CashetTestHelper writes` (durable) in rounds of `steps` steps with seeds derived from
    `seed` until the store holds at least `min_file_blobs` results in files and `min_inline` inline
    ones, one file of at least `min_large_file` bytes (a round that would take it past
    `max_commits` is dropped); then reads `log --json` and `stats --json` and (when `export`) exports an archive.
    With `cache` (a directory), a sample built there before with the same parameters is reused,
    and a new one is built there."""
    key = {"seed": seed, "min_file_blobs": min_file_blobs, "min_inline": min_inline, "steps": steps, "export": export,
           "max_commits": max_commits, "min_large_file": min_large_file}
    if cache:
        directory = os.path.join(os.path.abspath(cache), f"{name}-seed{seed}")
        meta_path = os.path.join(directory, "sample.json")
        if os.path.exists(meta_path):
            with open(meta_path) as handle:
                meta = json.load(handle)
            if meta.get("key") == key:
                sample = SampleStore(**meta["sample"])
                progress(f"sample store {name}: reused {directory} ({len(sample.log)} commits)")
                return sample
        remove_tree(directory)
        os.makedirs(directory)
        os.chmod(directory, 0o755)
    sample = _build_sample_store(tools, directory, seed, min_file_blobs, min_inline, steps, max_rounds, export, name,
                                 max_commits, min_large_file)
    if cache:
        with open(os.path.join(directory, "sample.json"), "w") as handle:
            json.dump({"key": key, "sample": sample.__dict__}, handle)
    return sample


def _build_sample_store(tools: Tools, directory: str, seed: int, min_file_blobs: int, min_inline: int,
                        steps: int, max_rounds: int, export: bool, name: str, max_commits: int,
                        min_large_file: int) -> SampleStore:
    store = os.path.join(directory, name)
    log_file = os.path.join(directory, name + ".log")
    trial, trial_log = store + ".trial", log_file + ".trial"
    for path in (store, log_file, trial, trial_log):
        remove_tree(path)
    for round_index in range(max_rounds):
        # Distinct seeds give distinct keys (CampaignWorkload: base = seed % 1e6 * 1e5). Each
        # round runs on a copy, dropped if it adds more than a quarter of max_commits or (beyond
        # max_commits) more than one commit: a `map` step adds up to 300 commits, and every
        # command of a case costs more on a larger store.
        round_seed = (seed * 7919 + round_index * 104729) % 900_000 + 1
        if os.path.exists(store):
            copy_tree(store, trial)
            shutil.copy(log_file, trial_log)
        outcome = tools.writes(trial, trial_log, round_seed, steps)
        if not outcome.ok:
            raise RuntimeError(f"building the sample store failed: {outcome.label}: {outcome.excerpt()}")
        if not os.path.exists(trial_log):      # a step that stored nothing
            open(trial_log, "a").close()
        before, after = len(read_acknowledged(log_file)), len(read_acknowledged(trial_log))
        if not os.path.isdir(trial):
            continue
        too_big = after - before > max_commits // 4 or (after > max_commits and after - before > 1)
        if too_big and round_index < max_rounds - 1:
            remove_tree(trial)
            os.unlink(trial_log)
            continue
        remove_tree(store)
        os.rename(trial, store)
        os.replace(trial_log, log_file)
        acknowledged = read_acknowledged(log_file)
        on_disk = [os.path.getsize(os.path.join(store, f)) for f in blob_files_on_disk(store)]
        inline = len(acknowledged) - len(on_disk)
        if len(on_disk) >= min_file_blobs and inline >= min_inline and max(on_disk, default=0) >= min_large_file:
            break
    listing = tools.cashet(store, "log", "--json")
    log = parse_log_json(listing)
    if not listing.ok or log is None:
        raise RuntimeError(f"log --json on the sample store failed: {listing.label}: {listing.excerpt()}")
    stats_outcome = tools.cashet(store, "stats", "--json")
    if not stats_outcome.ok:
        raise RuntimeError(f"stats on the sample store failed: {stats_outcome.excerpt()}")
    sample = SampleStore(store, read_acknowledged(log_file), log, json.loads(stats_outcome.text()))
    missing = set(sample.acknowledged) - set(log)
    if missing:
        raise RuntimeError(f"the sample store lacks {len(missing)} acknowledged commit(s), e.g. {sorted(missing)[0]}")
    for commit in sample.commits:
        output = sample.output_of(commit)
        if output and os.path.exists(blob_path(store, output)):
            sample.file_commits.append(commit)
        else:
            sample.inline_commits.append(commit)
    fsck = tools.cashet(store, "fsck")
    if not fsck.ok:
        raise RuntimeError(f"the sample store is not clean: fsck {fsck.label}: {fsck.excerpt()}")
    if export:
        sample.archive = os.path.join(directory, name + ".cashet")
        outcome = tools.cashet(store, "export", sample.archive)
        if not outcome.ok:
            raise RuntimeError(f"export of the sample store failed: {outcome.label}: {outcome.excerpt()}")
    progress(f"sample store {name}: {len(sample.log)} commits ({len(sample.file_commits)} with file results, "
             f"{len(sample.blob_files())} files), {os.path.getsize(os.path.join(store, 'data.mdb'))} bytes of data.mdb")
    return sample


def blob_files_on_disk(store: str):
    objects = os.path.join(store, "objects")
    if not os.path.isdir(objects):
        return
    for shard in os.listdir(objects):
        if len(shard) == 2 and os.path.isdir(os.path.join(objects, shard)):
            for name in os.listdir(os.path.join(objects, shard)):
                yield f"objects/{shard}/{name}"


# MARK: checking a store against the pristine one


def comparable_stats(stats: dict) -> dict:
    """`stats --json` without what may change without a change of contents (disk_bytes: LMDB files never shrink)."""
    return {k: v for k, v in stats.items() if k not in ("disk_bytes",)}


def check_store(tools: Tools, store: str, sample: SampleStore, rng: random.Random, scratch: str,
                exempt: set[str] = frozenset(), extra: dict[str, str] | None = None, get_sample: int = 4,
                verify_all: bool = False, as_nobody: bool = False, allow_missing: bool = False,
                at_risk: set[str] = frozenset(), at_risk_limit: int = 4,
                skip_get: set[str] = frozenset(), tolerate=None) -> tuple[list[str], dict]:
    """Checks `store` after a case: `log --json` must list every commit of the sample that is not
    in `exempt` (unless `allow_missing`), every listed commit must equal the sample's (no altered
    record passes as valid) or be one of `extra` (commit → sha256, e.g. added by an import), and
    results must load bit-exactly: up to `at_risk_limit` listed commits of `at_risk` (those the
    damage could reach), plus `get_sample` random file results and as many random inline ones
    (every listed commit with `verify_all`), never those of `skip_get`. A listed commit of no
    one's is a phantom unless `tolerate(log_object)` says it may be there. `log` and `fsck` cover the
    rest: every listed commit is compared whole, and fsck hashes every result. Returns (problems, facts)."""
    problems: list[str] = []
    facts = {"lost": 0, "lost_exempt": 0, "loaded": 0}
    extra = extra or {}
    listing = tools.cashet(store, "log", "--json", as_nobody=as_nobody)
    if not listing.allowed():
        return [f"log --json ended with {listing.label}: {listing.excerpt()}"], facts
    log = parse_log_json(listing) if listing.code == 0 else {}
    if allow_missing and listing.code in (EXIT_DAMAGED, EXIT_UNUSABLE):
        facts["lost_exempt"] = len(sample.commits)   # refused whole: allowed, nothing listed altered
        return problems, facts
    if listing.code not in (0, 1) or log is None:
        return [f"log --json could not list the store ({listing.label}): {listing.excerpt()}"], facts
    altered, phantoms = [], []
    for commit, obj in log.items():
        if commit in sample.log:
            if obj != sample.log[commit]:
                altered.append(f"commit {commit[:16]} is listed altered: {first_difference(sample.log[commit], obj)}")
        elif commit not in extra:
            if tolerate and tolerate(obj):
                facts["unacknowledged"] = facts.get("unacknowledged", 0) + 1
            else:
                phantoms.append(commit)
    problems += altered[:5] + ([f"... {len(altered)} commits are listed altered in all"] if len(altered) > 5 else [])
    if phantoms:
        problems.append(f"{len(phantoms)} commit(s) listed that this store never acknowledged (phantoms), e.g. {sorted(phantoms)[0][:16]}")
    for commit in sample.commits:
        if commit in log:
            continue
        if commit in exempt:
            facts["lost_exempt"] += 1
        else:
            facts["lost"] += 1
            if not allow_missing and facts["lost"] <= 5:
                problems.append(f"valid commit {commit[:16]} is gone (its data was not damaged)")
    if facts["lost"] > 5 and not allow_missing:
        problems.append(f"... {facts['lost']} valid commits are gone in all")
    expected = dict(sample.acknowledged)
    expected.update(extra)
    present = [c for c in log if c in expected and c not in skip_get]
    if verify_all:
        chosen = sorted(present)
    else:
        risky = sorted(c for c in present if c in at_risk)
        chosen = rng.sample(risky, min(at_risk_limit, len(risky)))
        rest = sorted(set(present) - set(chosen))
        files = [c for c in rest if c in sample.file_commits or c in extra]
        inline = [c for c in rest if c not in files]
        chosen += rng.sample(files, min(get_sample, len(files))) + rng.sample(inline, min(get_sample, len(inline)))
    for commit in chosen:
        out_file = os.path.join(scratch, f"get-{commit[:16]}")
        got = tools.cashet(store, "get", commit, "-o", out_file, "--binary", as_nobody=as_nobody)
        if not got.ok:
            problems.append(f"get {commit[:16]} (listed, valid) ended with {got.label}: {got.excerpt(200)}")
            continue
        digest = sha256_file(out_file)
        os.unlink(out_file)
        if digest != expected[commit]:
            problems.append(f"get {commit[:16]} returned wrong bytes (sha256 {digest[:16]}, acknowledged {expected[commit][:16]})")
        else:
            facts["loaded"] += 1
    return problems, facts


def first_difference(a: dict, b: dict) -> str:
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            return f"{key}: {json.dumps(a.get(key))[:60]} -> {json.dumps(b.get(key))[:60]}"
    return "?"


def store_state(tools: Tools, store: str) -> dict:
    """What must not change when an import is refused: `log --json` and `stats --json` (less
    disk_bytes), and the names of the files in objects/ (staging files aside)."""
    listing = tools.cashet(store, "log", "--json")
    stats = tools.cashet(store, "stats", "--json")
    try:
        stats_obj = comparable_stats(json.loads(stats.text())) if stats.ok else {"end": stats.label}
    except json.JSONDecodeError:
        stats_obj = {"unparsable": stats.text()[:200]}
    return {"log": listing.text() if listing.code in (0, 1) else listing.label,
            "stats": stats_obj,
            "files": sorted(blob_files_on_disk(store))}


def state_difference(before: dict, after: dict) -> str | None:
    if before["log"] != after["log"]:
        a, b = before["log"].splitlines(), after["log"].splitlines()
        return f"log --json changed ({len(a)} -> {len(b)} lines)"
    if before["stats"] != after["stats"]:
        return f"stats changed: {first_difference(before['stats'], after['stats'])}"
    if before["files"] != after["files"]:
        added = sorted(set(after["files"]) - set(before["files"]))
        removed = sorted(set(before["files"]) - set(after["files"]))
        return f"objects/ changed: {len(added)} file(s) added {added[:2]}, {len(removed)} removed {removed[:2]}"
    return None


# MARK: tallies and the summary


def normalize(text: str, limit: int = 90) -> str:
    """`text` with hashes, paths and numbers blanked, for grouping failures into defects."""
    text = re.sub(r"(?<![\w/])/(?:[\w.\-]+/)+[\w.\-]*", "PATH", text)
    text = re.sub(r"\b[0-9a-f]{8,}\b", "HASH", text)
    text = re.sub(r"\d+", "N", text)
    return text[:limit]


class Campaign:
    """Outcome tables (command → end → count), failures with reproducers, the JSON summary."""

    def __init__(self, name: str, args: argparse.Namespace, script: str):
        self.name = name
        self.args = args
        self.script = script
        self.lock = threading.Lock()
        self.outcomes: dict[str, dict[str, int]] = {}
        self.failures: list[dict] = []
        self.notes: dict[str, int] = {}
        self.cases_run = 0
        self.started = time.monotonic()
        self.owned_work = args.work is None
        self.work = args.work or tempfile.mkdtemp(prefix=f"cashet-{name}-")
        os.makedirs(self.work, exist_ok=True)
        os.chmod(self.work, 0o755)   # cases run as nobody must reach their directories

    def reproducer(self, index: int) -> str:
        short = " --short" if self.args.short else ""
        cache = f" --sample-cache {os.path.abspath(self.args.sample_cache)}" if self.args.sample_cache else ""
        return f"python3 {self.script} --bin {self.args.bin} --seed {self.args.seed}{short}{cache} --case {index}"

    def record(self, command: str, outcome: Outcome) -> None:
        with self.lock:
            table = self.outcomes.setdefault(command, {})
            table[outcome.label] = table.get(outcome.label, 0) + 1

    def note(self, key: str, amount: int = 1) -> None:
        with self.lock:
            self.notes[key] = self.notes.get(key, 0) + amount

    def fail(self, index: int, case: dict, command: str, problem: str, outcome: Outcome | None = None) -> None:
        entry = {"case": index, **case, "command": command, "problem": problem, "reproducer": self.reproducer(index)}
        if outcome is not None:
            entry["end"] = outcome.label
            entry["stderr"] = outcome.excerpt()
        with self.lock:
            self.failures.append(entry)
        progress(f"FAIL case {index} [{command}] {problem}" + (f" ({outcome.label}: {outcome.excerpt(160)})" if outcome else ""))

    def check_end(self, index: int, case: dict, command: str, outcome: Outcome,
                  allowed=ALLOWED_EXITS) -> bool:
        """Records the outcome; a failure unless it ended with one of `allowed`."""
        self.record(command, outcome)
        if outcome.allowed(allowed):
            return True
        what = ("timed out" if outcome.timed_out else f"was killed by {outcome.signal}" if outcome.signal
                else f"exited {outcome.code}, expected one of {sorted(allowed)}")
        self.fail(index, case, command, f"{command} {what}", outcome)
        return False

    def failure_count(self, index: int) -> int:
        """Failures recorded for case `index` (cases run side by side: never count across them)."""
        with self.lock:
            return sum(1 for f in self.failures if f.get("case") == index)

    def keep(self, index: int, paths: list[str], case: dict | None = None) -> None:
        """Copies a failing case's input to --keep-failures, with case.json (what was done, the failures)."""
        if not self.args.keep_failures:
            return
        destination = os.path.join(self.args.keep_failures, f"{self.name}-seed{self.args.seed}-case{index}")
        os.makedirs(destination, exist_ok=True)
        with self.lock:
            failures = [f for f in self.failures if f.get("case") == index]
        with open(os.path.join(destination, "case.json"), "w") as handle:
            json.dump({"case": index, "seed": self.args.seed, "description": case or {}, "failures": failures},
                      handle, indent=1, default=str)
        for path in paths:
            if os.path.lexists(path):
                target = os.path.join(destination, os.path.basename(path.rstrip("/")))
                remove_tree(target)
                subprocess.run(["cp", "-a", path, target], check=False)

    def run_cases(self, indices: list[int], body) -> None:
        """Runs `body(index)` for every case, `--jobs` at a time; a crash of the harness itself on a
        case is a failure of that case, not of the run."""
        def guarded(index: int) -> None:
            try:
                body(index)
            except Exception as error:   # noqa: BLE001 - report and go on
                import traceback
                self.fail(index, {}, "harness", f"harness error: {error!r}\n{traceback.format_exc()[-800:]}")
            with self.lock:
                self.cases_run += 1
                done = self.cases_run
            if done % max(1, len(indices) // 20) == 0 or done == len(indices):
                progress(f"{self.name}: {done}/{len(indices)} cases, {len(self.failures)} failure(s)")
        if self.args.jobs == 1:
            for index in indices:
                guarded(index)
        else:
            with concurrent.futures.ThreadPoolExecutor(self.args.jobs) as pool:
                list(pool.map(guarded, indices))

    def indices(self) -> list[int]:
        return sorted(set(self.args.case)) if self.args.case else list(range(self.args.count))

    def defects(self, group_by) -> list[dict]:
        """Failures grouped by `group_by(failure)` (a short string): count, cases, one example each."""
        groups: dict[str, dict] = {}
        for failure in self.failures:
            key = group_by(failure)
            group = groups.setdefault(key, {"defect": key, "count": 0, "cases": [], "example": failure})
            group["count"] += 1
            if failure.get("case") not in group["cases"] and len(group["cases"]) < 12:
                group["cases"].append(failure.get("case"))
        return sorted(groups.values(), key=lambda g: -g["count"])

    def finish(self, extra: dict | None = None) -> int:
        """Prints the one JSON summary on stdout; returns the exit status (1 on any failure)."""
        self.failures.sort(key=lambda f: (f.get("case", -1), f.get("command", "")))
        summary = {
            "campaign": self.name,
            "seed": self.args.seed,
            "short": self.args.short,
            "cases": self.cases_run,
            "seconds": round(time.monotonic() - self.started, 1),
            "outcomes": {cmd: dict(sorted(ends.items())) for cmd, ends in sorted(self.outcomes.items())},
            "notes": dict(sorted(self.notes.items())),
            "failure_count": len(self.failures),
        }
        if extra:
            summary.update(extra)
        summary["failures"] = self.failures
        print(json.dumps(summary, indent=1, sort_keys=False))
        sys.stdout.flush()
        if self.owned_work:
            remove_tree(self.work)
        return 1 if self.failures else 0
