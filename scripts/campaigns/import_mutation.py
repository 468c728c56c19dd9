#!/usr/bin/env python3
"""Import-mutation campaign: archives valid but for one thing, imported into a fresh store and
into a non-empty one.

The reference archive is an `export` of a sample store whose function records get a source
(the workload's functions have none; a source is plain data in the record, so the archive stays
valid), re-checksummed. Each case applies one mutation to it (archive_format.py reads and writes
the format, re-encoding records, hashes and the end checksum as the mutation requires):

- refused as a whole (exit 3): a non-canonical varint (a value re-encoded in more bytes) in a
  commit record (any varint; the result size; the tag count) with the commit's hash and the end
  checksum recomputed, or in a function record; wrong hashes (commit, result, function); two
  results' bodies swapped; a result or function record dropped; a commit whose recorded result
  size is off by one (valid records; fails only when applied); function names of 401 bytes and
  64 KiB; an over-long tag, a tag with NUL; an unknown status; invalid UTF-8; a trailing byte in
  a commit record; a result whose size field lies; truncation; garbage after the end; a wrong
  record count; a wrong version; an empty file; a FIFO, a directory, a character device (a
  private /dev/zero made with mknod), the store's own data.mdb as the archive; a missing file
  (exit 1);
- either accepted exactly or refused: records reordered (a function after its commit, a result
  before its commit, commit groups reversed), records duplicated (commit, function, result), the
  archive's path swapped back and forth with a damaged one while the import runs;
- accepted (exit 0): the reference itself, a function name of exactly 400 bytes.

Checks: every import ends within its time limit (a FIFO must not hang) with exit 0, 1 or 3 as
the mutation requires, never a signal or 2. A refused import leaves no store directory behind in
a fresh target, and leaves a non-empty one exactly as it was (log --json, stats --json less
disk_bytes, the files in objects/). An accepted import lists exactly the archive's commits (and
the target's own), each identical to the exporter's (`show --json`, source included, for a sample
of them and every mutated one), results load bit-exactly, and fsck exits 0.

    python3 scripts/campaigns/import_mutation.py --bin .build/debug --short   # every mutation once
    python3 scripts/campaigns/import_mutation.py --bin .build/debug           # 10 rounds
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import stat
import struct
import sys
import threading
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import archive_format as af  # noqa: E402
import common  # noqa: E402

CAMPAIGN = "import_mutation"

REFUSE, EITHER, SUCCEED, MISSING = "refuse", "either", "succeed", "missing"
EXPECTED_EXITS = {REFUSE: {3}, EITHER: {0, 3}, SUCCEED: {0}, MISSING: {1}}

KINDS = [
    ("valid", SUCCEED), ("varint-commit", REFUSE), ("varint-commit-size", REFUSE), ("varint-commit-tagcount", REFUSE),
    ("varint-function", REFUSE), ("wrong-hash-commit", REFUSE), ("wrong-hash-blob", REFUSE),
    ("wrong-hash-function", REFUSE), ("swap-blob-bodies", REFUSE), ("drop-blob", REFUSE), ("drop-function", REFUSE),
    ("output-size-lie", REFUSE), ("name-401", REFUSE), ("name-64k", REFUSE), ("name-400", SUCCEED),
    ("tag-overlong", REFUSE), ("tag-nul", REFUSE), ("bad-status", REFUSE), ("bad-utf8", REFUSE),
    ("trailing-byte", REFUSE), ("blob-size-lie", REFUSE), ("truncate", REFUSE), ("append-garbage", REFUSE),
    ("bad-count", REFUSE), ("bad-version", REFUSE), ("empty-file", REFUSE),
    ("reorder-function-after-commit", EITHER), ("reorder-blob-before-commit", EITHER), ("reverse-groups", EITHER),
    ("duplicate-commit", EITHER), ("duplicate-function", EITHER), ("duplicate-blob", EITHER),
    ("fifo", REFUSE), ("directory", REFUSE), ("device", REFUSE), ("data-mdb", REFUSE), ("missing", MISSING),
    ("swap-race", EITHER),
]
SHORT_COUNT, LONG_COUNT = len(KINDS), 10 * len(KINDS)
SPECIAL = {"fifo", "directory", "device", "data-mdb", "missing", "swap-race", "empty-file"}


def source_for(name: str) -> bytes:
    """The source given to a function record of the reference archive (multi-line, non-ASCII)."""
    return (f"// {name}: the campaign workload's function, with a source for the import campaign\n"
            f"func {name.replace('-', '_')}(_ key: Int) -> [UInt8] {{\n    Array(\"résultat \\(key)\".utf8)  // ✓\n}}\n").encode()


@dataclass
class Mutation:
    kind: str
    expect: str
    data: bytes | None = None
    detail: dict = field(default_factory=dict)
    # On success: commit → expected `show --json` (None: the reference's commits unchanged).
    expected: dict[str, dict] | None = None


class ImportMutation:
    def __init__(self, args):
        self.args = args
        self.campaign = common.Campaign(CAMPAIGN, args, os.path.relpath(os.path.abspath(__file__)))
        self.tools = common.Tools(args.bin, args.timeout)
        work = self.campaign.work
        self.exporter = common.build_sample_store(self.tools, work, args.seed, min_file_blobs=2, min_inline=20,
                                                  name="exporter", cache=args.sample_cache)
        self.reference = self.make_reference()
        self.reference_bytes = self.reference.encode()
        self.reference_path = os.path.join(work, "reference.cashet")
        with open(self.reference_path, "wb") as handle:
            handle.write(self.reference_bytes)
        self.functions = {r.hash: af.decode_function(r.body) for r in self.reference.records if r.kind == af.FUNCTION}
        self.expected = self.expected_shows(self.reference)
        self.parents = {obj["parent"] for obj in self.exporter.log.values() if obj["parent"]}
        self.base = self.make_base(work)

    # MARK: setup

    def make_reference(self) -> af.Archive:
        with open(self.exporter.archive, "rb") as handle:
            archive = af.Archive.parse(handle.read())
        for record in archive.records:
            if record.kind == af.FUNCTION:
                fields = af.decode_function(record.body)
                name = fields.get("name").value
                record.body = af.encode_function(name, fields.get("function_version").value, source_for(name.decode()))
        return archive

    def expected_shows(self, archive: af.Archive) -> dict[str, dict]:
        """commit → its expected `show --json`: the exporter's log entry, plus the source its
        function record carries and the commit record's function version."""
        sources = {r.hash.hex(): af.decode_function(r.body) for r in archive.records if r.kind == af.FUNCTION}
        expected = {}
        for record in archive.records:
            if record.kind != af.COMMIT:
                continue
            commit = record.hash.hex()
            fields = af.decode_commit(record.body)
            base = self.exporter.log.get(commit)
            if base is None:       # a mutated commit: built from its fields
                base = self.object_from_fields(commit, fields)
            obj = dict(base)
            function = sources.get(fields.get("fingerprint").value[:32].hex())
            source = function.get("source").value.decode() if function and function.get("source_flag").value == b"\x01" else None
            obj["source"] = source
            obj["version"] = fields.get("function_version").value.decode()
            obj["identity"] = af.manifest_json(function) if function else None
            expected[commit] = obj
        return expected

    def object_from_fields(self, commit: str, fields: af.Fields) -> dict:
        fingerprint = fields.get("fingerprint").value
        created = struct.unpack("<q", fields.get("created_at").value)[0]
        original = next((o for o in self.exporter.log.values()
                         if o["fingerprint"] == f"{fingerprint[:32].hex()}:{fingerprint[32:].hex()}"), None)
        output = fields.get("output").value
        tags = {}
        names = [f.name for f in fields.fields]
        for index in range(fields.get("tag_count").value):
            if f"tag_key_{index}" in names:
                tags[fields.get(f"tag_key_{index}").value.decode()] = fields.get(f"tag_value_{index}").value.decode()
        parent = fields.get("parent").value
        return {
            "hash": commit, "function": fields.get("name").value.decode("utf-8", "replace"),
            "function_hash": fingerprint[:32].hex(), "fingerprint": f"{fingerprint[:32].hex()}:{fingerprint[32:].hex()}",
            "status": {b"\x01": "completed", b"\x02": "failed"}.get(fields.get("status").value, "?"),
            # Same created_at bytes as the commit it was made from: same rendering.
            "created_at": original["created_at"] if original else f"ns:{created}",
            "args": fields.get("args").value.decode("utf-8", "replace"), "tags": tags,
            "parent": parent[1:].hex() if parent[:1] == b"\x01" else None,
            "error": fields.get("error").value.decode() if "error" in names else None,
            "cached": fields.get("cacheable").value == b"\x01",
            "output": {"hash": output[1:].hex(), "size": fields.get("output_size").value} if output[:1] == b"\x01" else None,
        }

    def make_base(self, work: str) -> common.SampleStore:
        """The non-empty target: another store, plus the reference's `campaign-large` commits
        (imported from a subset of the reference), so an import has commits to skip too."""
        base = common.build_sample_store(self.tools, work, self.args.seed + 31_337, min_file_blobs=1, min_inline=10,
                                         name="base", export=False, cache=self.args.sample_cache)
        overlap = af.Archive([])
        keep_function, take_blob = None, False
        for record in self.reference.records:
            if record.kind == af.FUNCTION:
                keep_function = record if af.decode_function(record.body).get("name").value == b"campaign-large" else None
                if keep_function:
                    overlap.records.append(record)
            elif record.kind == af.COMMIT:
                large = af.decode_commit(record.body).get("name").value == b"campaign-large"
                if large:
                    overlap.records.append(record)
                take_blob = large
            elif record.kind == af.BLOB and take_blob:
                overlap.records.append(record)
        store = os.path.join(work, "base-target")
        common.remove_tree(store)
        common.copy_tree(base.path, store)
        path = os.path.join(work, "overlap.cashet")
        with open(path, "wb") as handle:
            handle.write(overlap.encode())
        outcome = self.tools.cashet(store, "import", path)
        if not outcome.ok:
            common.progress(f"importing the overlap into the base store failed ({outcome.label}): {outcome.excerpt()}; "
                            "the non-empty target has no commits in common with the archive")
            common.remove_tree(store)
            common.copy_tree(base.path, store)
        self.overlap = {r.hash.hex() for r in overlap.records if r.kind == af.COMMIT} if outcome.ok else set()
        self.base_state = common.store_state(self.tools, store)
        self.base_log = common.parse_log_json(self.tools.cashet(store, "log", "--json")) or {}
        common.progress(f"non-empty target: {len(self.base_log)} commits, {len(self.overlap)} of them also in the archive")
        return common.SampleStore(store, base.acknowledged, self.base_log, base.stats)

    # MARK: mutations

    def late_commit(self, rng: random.Random, archive: af.Archive, with_blob: bool | None = None) -> int:
        """A commit record in the last quarter of the archive (so a non-atomic import would have
        applied earlier ones), that is no other commit's parent."""
        commits = archive.commits()
        candidates = [i for i in commits[len(commits) * 3 // 4:] if archive.records[i].hash.hex() not in self.parents]
        if with_blob is not None:
            candidates = [i for i in candidates if (i + 1 < len(archive.records) and archive.records[i + 1].kind == af.BLOB) == with_blob] or candidates
        return rng.choice(candidates)

    def replace_commit(self, archive: af.Archive, index: int, fields: af.Fields, rehash: bool = True) -> str:
        body = fields.encode()
        record = archive.records[index]
        record.body = body
        if rehash:
            record.hash = hashlib.sha256(body).digest()
        return record.hash.hex()

    def mutate(self, kind: str, expect: str, rng: random.Random) -> Mutation:
        archive = af.Archive.parse(self.reference_bytes)
        m = Mutation(kind, expect)
        records = archive.records
        if kind in SPECIAL:
            m.expected = self.expected if expect in (SUCCEED, EITHER) else None
            return m
        if kind == "valid":
            pass
        elif kind.startswith("varint-commit"):
            index = self.late_commit(rng, archive)
            fields = af.decode_commit(records[index].body)
            if kind == "varint-commit-size":
                choices = [f for f in fields.varints() if f.name == "output_size"]
            elif kind == "varint-commit-tagcount":
                choices = [fields.get("tag_count")]
            else:
                choices = fields.varints()
            target = rng.choice(choices)
            target.extra = rng.randint(1, 3)
            m.detail = {"record": index, "field": target.name, "value": target.value if target.kind == "varint" else len(target.value),
                        "extra_bytes": target.extra, "old_commit": records[index].hash.hex()[:16]}
            m.detail["new_commit"] = self.replace_commit(archive, index, fields)[:16]
        elif kind == "varint-function":
            index = rng.choice([i for i, r in enumerate(records) if r.kind == af.FUNCTION])
            fields = af.decode_function(records[index].body)
            target = rng.choice(fields.varints())
            target.extra = rng.randint(1, 3)
            records[index].body = fields.encode()
            m.detail = {"record": index, "field": target.name, "extra_bytes": target.extra}
        elif kind.startswith("wrong-hash-"):
            wanted = {"commit": af.COMMIT, "blob": af.BLOB, "function": af.FUNCTION}[kind.split("-")[-1]]
            index = self.late_commit(rng, archive) if wanted == af.COMMIT else \
                rng.choice([i for i, r in enumerate(records) if r.kind == wanted][-4:])
            hash_bytes = bytearray(records[index].hash)
            position = rng.randrange(32)
            hash_bytes[position] ^= 1 << rng.randrange(8)
            records[index].hash = bytes(hash_bytes)
            m.detail = {"record": index, "hash_byte": position}
        elif kind == "swap-blob-bodies":
            blobs = [i for i, r in enumerate(records) if r.kind == af.BLOB]
            a, b = rng.sample(blobs[len(blobs) // 2:] if len(blobs) >= 4 else blobs, 2)
            records[a].body, records[b].body = records[b].body, records[a].body
            m.detail = {"records": [a, b]}
        elif kind == "drop-blob":
            index = self.late_commit(rng, archive, with_blob=True)
            if records[index + 1].kind == af.BLOB:
                del records[index + 1]
            m.detail = {"commit_record": index}
        elif kind == "drop-function":
            index = rng.choice([i for i, r in enumerate(records) if r.kind == af.FUNCTION])
            del records[index]
            m.detail = {"record": index}
        elif kind == "output-size-lie":
            index = self.late_commit(rng, archive, with_blob=rng.random() < 0.7)
            fields = af.decode_commit(records[index].body)
            size = fields.get("output_size")
            size.value += rng.choice([-1, 1]) if size.value > 0 else 1
            m.detail = {"record": index, "size": size.value, "blob_follows": records[index + 1].kind == af.BLOB
                        if index + 1 < len(records) else False}
            m.detail["new_commit"] = self.replace_commit(archive, index, fields)[:16]
        elif kind.startswith("name-"):
            length = {"name-401": 401, "name-64k": 65_536, "name-400": 400}[kind]
            index = self.late_commit(rng, archive)
            fields = af.decode_commit(records[index].body)
            fields.get("name").value = (b"n" * length)
            m.detail = {"record": index, "name_bytes": length}
            m.detail["new_commit"] = self.replace_commit(archive, index, fields)[:16]
        elif kind.startswith("tag-"):
            index = self.late_commit(rng, archive)
            fields = af.decode_commit(records[index].body)
            key, value = (b"k" * 200, b"v" * 201) if kind == "tag-overlong" else (b"key", b"va\x00lue")
            count = fields.get("tag_count")
            count.value += 1
            position = fields.fields.index(count) + 1 + 2 * (count.value - 1)
            fields.fields[position:position] = [af.Field(f"tag_key_{count.value - 1}", "string", key),
                                                af.Field(f"tag_value_{count.value - 1}", "string", value)]
            m.detail = {"record": index}
            m.detail["new_commit"] = self.replace_commit(archive, index, fields)[:16]
        elif kind == "bad-status":
            index = self.late_commit(rng, archive)
            fields = af.decode_commit(records[index].body)
            fields.get("status").value = bytes([rng.choice([0, 3, 0x81, 0xFF])])
            m.detail = {"record": index, "status": fields.get("status").value[0]}
            m.detail["new_commit"] = self.replace_commit(archive, index, fields)[:16]
        elif kind == "bad-utf8":
            index = self.late_commit(rng, archive)
            fields = af.decode_commit(records[index].body)
            target = rng.choice([fields.get("name"), fields.get("args"), fields.get("function_version")])
            target.value = target.value + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80"])
            m.detail = {"record": index, "field": target.name}
            m.detail["new_commit"] = self.replace_commit(archive, index, fields)[:16]
        elif kind == "trailing-byte":
            index = self.late_commit(rng, archive)
            records[index].body += bytes([rng.randrange(256)])
            records[index].hash = hashlib.sha256(records[index].body).digest()
            m.detail = {"record": index}
        elif kind == "blob-size-lie":
            index = rng.choice([i for i, r in enumerate(records) if r.kind == af.BLOB][-6:])
            size = struct.unpack_from("<Q", records[index].body)[0]
            size += rng.choice([-1, 1, 1 << 20])
            records[index].body = struct.pack("<Q", size) + records[index].body[8:]
            m.detail = {"record": index, "claimed_size": size}
        elif kind == "reorder-function-after-commit":
            index = rng.choice([i for i, r in enumerate(records) if r.kind == af.FUNCTION])
            function = records.pop(index)
            records.insert(index + 1, function)     # after the commit that followed it
            m.detail = {"record": index}
        elif kind == "reorder-blob-before-commit":
            index = self.late_commit(rng, archive, with_blob=True)
            if records[index + 1].kind == af.BLOB:
                records[index], records[index + 1] = records[index + 1], records[index]
            m.detail = {"commit_record": index}
        elif kind == "reverse-groups":
            groups, current = [], []
            for record in records:
                if record.kind == af.COMMIT and current and any(r.kind == af.COMMIT for r in current):
                    groups.append(current)
                    current = []
                current.append(record)
            groups.append(current)
            archive.records = [r for group in reversed(groups) for r in group]
            m.detail = {"groups": len(groups)}
        elif kind == "duplicate-commit":
            index = self.late_commit(rng, archive, with_blob=True)
            group = records[index: index + 2]
            records[index + 2: index + 2] = [af.Record(r.kind, r.hash, r.body) for r in group]
            m.detail = {"commit_record": index}
        elif kind == "duplicate-function":
            index = rng.choice([i for i, r in enumerate(records) if r.kind == af.FUNCTION])
            records.insert(index + 1, af.Record(records[index].kind, records[index].hash, records[index].body))
            m.detail = {"record": index}
        elif kind == "duplicate-blob":
            index = rng.choice([i for i, r in enumerate(records) if r.kind == af.BLOB])
            records.insert(index + 1, af.Record(records[index].kind, records[index].hash, records[index].body))
            m.detail = {"record": index}
        m.data = archive.encode()
        if kind == "truncate":
            m.data = self.reference_bytes[:rng.randrange(0, len(self.reference_bytes))]
            m.detail = {"length": len(m.data), "of": len(self.reference_bytes)}
        elif kind == "append-garbage":
            garbage = rng.randbytes(rng.choice([1, 8, 49, 4096]))
            m.data = self.reference_bytes + garbage
            m.detail = {"bytes": len(garbage)}
        elif kind == "bad-count":
            delta = rng.choice([-1, 1, 1 << 40])
            m.data = archive.encode(count=len(archive.records) + delta)
            m.detail = {"count_delta": delta}
        elif kind == "bad-version":
            archive.version = rng.choice([0, 2, 0xFF])
            m.data = archive.encode()
            m.detail = {"version": archive.version}
        if expect in (SUCCEED, EITHER):
            m.expected = self.expected_shows(archive)
        return m

    # MARK: one case

    def run_case(self, index: int) -> None:
        kind, expect = KINDS[index % len(KINDS)]
        rng = common.case_rng(CAMPAIGN, self.args.seed, index)
        mutation = self.mutate(kind, expect, rng)
        directory = os.path.join(self.campaign.work, f"case-{index}")
        common.remove_tree(directory)
        os.makedirs(directory)
        failures_before = self.campaign.failure_count(index)
        info = {"mutation": kind, "expect": expect, **mutation.detail}
        self.campaign.note(f"mutation {kind}")
        try:
            for target in ("fresh", "non-empty"):
                archive = self.prepare_archive(mutation, directory, target)
                self.import_into(index, info, mutation, archive, directory, target, rng)
        finally:
            if self.campaign.failure_count(index) != failures_before:
                kept = os.path.join(directory, "archive.cashet")
                self.campaign.keep(index, [kept] if os.path.isfile(kept) else [], info)
            common.remove_tree(directory)

    def prepare_archive(self, mutation: Mutation, directory: str, target: str) -> str:
        path = os.path.join(directory, "archive.cashet")
        if os.path.lexists(path):
            common.remove_tree(path)
        kind = mutation.kind
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "directory":
            os.makedirs(os.path.join(path, "inside"))
        elif kind == "device":
            # A private character device (1, 5: zero), never the system's /dev/zero; without the
            # privilege to make one, a FIFO stands in.
            try:
                os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 5))
            except PermissionError:
                os.mkfifo(path)
        elif kind == "data-mdb":
            common.copy_tree(os.path.join(self.exporter.path, "data.mdb"), path)
        elif kind == "empty-file":
            open(path, "wb").close()
        elif kind == "swap-race":
            with open(path, "wb") as handle:
                handle.write(self.reference_bytes)
        elif kind != "missing":
            with open(path, "wb") as handle:
                handle.write(mutation.data)
        return path

    def import_into(self, index, info, mutation: Mutation, archive: str, directory: str, target: str, rng) -> None:
        c, tools = self.campaign, self.tools
        command = f"import into {target} store"
        store = os.path.join(directory, f"{target}-store")
        common.remove_tree(store)
        if target == "non-empty":
            common.copy_tree(self.base.path, store)
        race = self.start_race(archive, directory) if mutation.kind == "swap-race" else None
        timeout = 10 if mutation.kind in ("fifo", "device") else None
        outcome = tools.cashet(store, "import", archive, "--json", timeout=timeout)
        if race:
            race()
        c.record(f"{mutation.kind}: {command}", outcome)
        c.check_end(index, info, command, outcome, EXPECTED_EXITS[mutation.expect])
        if outcome.timed_out or outcome.signal:
            return
        if outcome.code != 0:
            if target == "fresh":
                if os.path.lexists(store):
                    c.fail(index, info, command, f"a refused import left a store directory behind "
                           f"({sorted(os.listdir(store))[:6] if os.path.isdir(store) else 'a file'})", outcome)
            else:
                difference = common.state_difference(self.base_state, common.store_state(tools, store))
                if difference:
                    c.fail(index, info, command, f"a refused import changed the store: {difference}", outcome)
                fsck = tools.cashet(store, "fsck")
                c.record(f"{mutation.kind}: fsck after refused import", fsck)
                c.check_end(index, info, "fsck after refused import", fsck, {0})
            return
        # Accepted: exactly the archive's commits (and the target's own), as the exporter has them.
        if mutation.expected is None:
            c.fail(index, info, command, "an archive that must be refused was imported", outcome)
            fsck = tools.cashet(store, "fsck")
            c.record(f"{mutation.kind}: fsck after import", fsck)
            c.check_end(index, info, "fsck after import", fsck, {0})
            return
        self.check_success(index, info, command, store, mutation.expected, target, rng, mutation)

    def check_success(self, index, info, command, store, expected, target, rng, mutation) -> None:
        c, tools = self.campaign, self.tools
        listing = tools.cashet(store, "log", "--json")
        log = common.parse_log_json(listing) or {}
        own = self.base_log if target == "non-empty" else {}
        for commit, obj in expected.items():
            if commit not in log:
                c.fail(index, info, command, f"accepted, but commit {commit[:16]} of the archive is missing")
                continue
            want = {k: v for k, v in obj.items() if k not in ("source", "version", "identity")}
            if log[commit] != want:
                c.fail(index, info, command, f"commit {commit[:16]} imported altered: {common.first_difference(want, log[commit])}")
        for commit, obj in own.items():
            if commit not in expected and log.get(commit) != obj:
                c.fail(index, info, command, f"the target's own commit {commit[:16]} changed or went missing")
        phantoms = set(log) - set(expected) - set(own)
        if phantoms:
            c.fail(index, info, command, f"{len(phantoms)} commit(s) listed that neither the archive nor the store had, e.g. {sorted(phantoms)[0][:16]}")
        # show --json (source included): one commit of each function, every mutated one, two more.
        by_function: dict[str, str] = {}
        for commit, obj in sorted(expected.items()):
            by_function.setdefault(obj["function_hash"], commit)
        mutated = [c2 for c2 in expected if c2 not in self.exporter.log]
        others = sorted(set(expected) - set(by_function.values()) - set(mutated))
        for commit in sorted(set(by_function.values())) + mutated + rng.sample(others, min(2, len(others))):
            if commit not in log:
                continue
            shown = tools.cashet(store, "show", commit, "--json")
            c.record(f"{mutation.kind}: show after import", shown)
            if not c.check_end(index, info, "show after import", shown, {0}):
                continue
            obj = json.loads(shown.text())
            want = dict(expected[commit])
            if str(want.get("created_at", "")).startswith("ns:"):
                want["created_at"] = obj.get("created_at")
            if obj != want:
                c.fail(index, info, "show after import", f"show {commit[:16]} differs from the exporter's: "
                       f"{common.first_difference(want, obj)}", shown)
        # Results, bit-exact (the result hash is the SHA-256 of the bytes).
        with_output = [c2 for c2 in expected if c2 in log and expected[c2].get("output")]
        large = [c2 for c2 in with_output if expected[c2]["output"]["size"] >= common.FILE_THRESHOLD]
        small = sorted(set(with_output) - set(large))
        for commit in rng.sample(sorted(large), min(2, len(large))) + rng.sample(small, min(1, len(small))):
            out_file = os.path.join(os.path.dirname(store), "got")
            got = tools.cashet(store, "get", commit, "-o", out_file, "--binary")
            c.record(f"{mutation.kind}: get after import", got)
            if c.check_end(index, info, "get after import", got, {0}):
                digest = common.sha256_file(out_file)
                if digest != expected[commit]["output"]["hash"]:
                    c.fail(index, info, "get after import", f"get {commit[:16]} returned wrong bytes", got)
                os.unlink(out_file)
        fsck = tools.cashet(store, "fsck")
        c.record(f"{mutation.kind}: fsck after import", fsck)
        c.check_end(index, info, "fsck after import", fsck, {0})

    def start_race(self, path: str, directory: str):
        """Swaps the archive's path between the reference and a truncated copy until stopped."""
        good, bad, spare = (os.path.join(directory, n) for n in ("race-good", "race-bad", "race-spare"))
        with open(good, "wb") as handle:
            handle.write(self.reference_bytes)
        with open(bad, "wb") as handle:
            handle.write(self.reference_bytes[: len(self.reference_bytes) // 2])
        stop = threading.Event()

        def swap():
            turn = 0
            while not stop.is_set():
                source = good if turn % 2 == 0 else bad
                try:
                    if os.path.lexists(spare):
                        os.unlink(spare)
                    os.link(source, spare)
                    os.replace(spare, path)
                except OSError:
                    pass
                turn += 1

        thread = threading.Thread(target=swap, daemon=True)
        thread.start()

        def finish():
            stop.set()
            thread.join()
        return finish

    def run(self) -> int:
        indices = self.campaign.indices()
        common.progress(f"{CAMPAIGN}: {len(indices)} cases, seed {self.args.seed}; reference archive "
                        f"{len(self.reference_bytes)} bytes, {len(self.reference.commits())} commits")
        self.campaign.run_cases(indices, self.run_case)

        def defect(failure: dict) -> str:
            what = failure.get("end") if failure.get("end", "").startswith(("signal", "timeout")) else common.normalize(failure["problem"], 70)
            return f"{failure.get('mutation', '?')} | {failure['command']} | {what}"

        return self.campaign.finish({
            "defects": [{k: g[k] for k in ("defect", "count", "cases")} | {"reproducer": g["example"]["reproducer"]}
                        for g in self.campaign.defects(defect)],
            "sample": {"archive_commits": len(self.reference.commits()), "archive_bytes": len(self.reference_bytes),
                       "non_empty_target_commits": len(self.base_log), "overlap": len(self.overlap)},
        })


def main(argv=None) -> int:
    args = common.parse_args(CAMPAIGN, __doc__.split("\n\n")[0], SHORT_COUNT, LONG_COUNT, argv=argv)
    return ImportMutation(args).run()


if __name__ == "__main__":
    sys.exit(main())
