#!/usr/bin/env python3
"""Power-loss campaign: what a store looks like after the power goes, and whether cashet copes.

A SIGKILL keeps the page cache; a power cut does not. This driver records every change the
store's workload makes to its files (an LD_PRELOAD shim, shim.c beside this file), builds crash
states from the recording, and checks each one with the `cashet` CLI.

Recording. `CashetTestHelper writes STORE ACKS SEED STEPS` (CASHET_DURABILITY=durable|normal|nosync)
creates a store from nothing and runs STEPS submits / hits / map batches, appending
`ok COMMIT SHA256` to ACKS after each acknowledged result. The shim logs opens, writes (with
their bytes), truncations, fsync/fdatasync/sync_file_range, renames, unlinks, mkdir/rmdir,
links and dups under STORE, and turns each write to ACKS into a mark, so each acknowledgement
has its place among the operations.

Model (strict POSIX, `--fs-model posix`, the default). Files are nodes (by identity, not name);
directories map names to nodes. An operation is durable at a crash point k when, before k:
  - a write/truncate of file F: F was fsynced or fdatasynced after it (through any descriptor),
    or the write went through an O_DSYNC/O_SYNC descriptor (durable at once);
  - a name change in directory D (create, mkdir, rename, unlink, rmdir, link): D was fsynced
    after it. A file's own fsync does not make its name durable, nor its directory's.
  - sync()/syncfs() makes everything before it durable. sync_file_range promises nothing.
A rename between two directories is two halves, each durable with its own directory: the new
name, then the removal of the old one; the old name is never gone while the new one is missing
(after a crash the file may have both names). With `--fs-model journal` an fsync or fdatasync of
anything also makes every earlier name change durable (what ext4/XFS journalling does in
practice), while file data stays per file.

A crash state at point k = the durable operations before k, plus some of the others, applied in
their original order. How many others is chosen per state (the `strategy`):
  subset   each non-durable operation independently with probability p (p per state), and an
           included write is torn (a random proper subset of its 512-byte sectors, by absolute
           offset) with probability t (0, 0.2 or 0.5 per state): a disk that reorders freely;
  prefix   the non-durable operations persist in order up to a random cut (a file system that
           keeps write order), the last write maybe torn;
  durable  only what is durable;
  all      everything issued (what a SIGKILL leaves), nothing torn.
For subset, and for prefix when the cut took everything before k, the operation at k itself
(the one in flight) is applied torn with probability 0.3 when it is a write, even an O_DSYNC
one. Sector tearing only: LMDB's meta update (one sector) is atomic in this model. Crash
points: half uniform over the recording, half just before or just after an fsync, fdatasync,
O_DSYNC write, rename or acknowledgement (state 0 is the end of the recording).

A state is materialized in a fresh directory (unreachable nodes vanish; `lock.mdb` is left out,
as after a reboot it is rebuilt) and checked:
  1. `cashet log --json`: every result acknowledged before k is there with its SHA-256;
     `cashet get HASH -o FILE` for a sample (the newest acknowledged result, every file-sized
     one, a few others; `--get-all` for all): bytes hash to the acknowledged SHA-256;
  2. `cashet fsck --json` ends with 0 (clean) or 3 (damage found), never a signal or 2;
  3. `cashet stats --json` works;
  4. when fsck found anything (or exit 3): `fsck --repair` (with `--rebuild` when it found a
     damaged structure and the campaign runs with --rebuild), then `fsck` is clean, `stats`
     works, and every result that was valid before the repair still is (log + the same gets; a
     result the repair dropped counts only if `get` served it from a copy taken before).
  5. A state without data.mdb (a crash while the store was being created) must be openable by
     the application again: `CashetTestHelper writes STATE ... 1` succeeds.
In durable mode anything lost, any damage, any exit other than 0 (or 1 from log on an empty
store) is a failure. Normal mode (the journal) is judged the same, except that a result
acknowledged after the second-last LMDB commit before the crash (a flush applies what it read
before commits acknowledged during it; the next one applies those) may be gone; listed, it
must be right. In nosync mode the same is counted and reported but only signals, exit 2, a
repair that removed a served result and (with --rebuild) a repair that left the store unclean
fail the run.

Output: progress on stderr, one JSON summary on stdout; exit 1 when durable or normal mode had any
failure or any state produced a signal, exit 2 or a timeout, 2 on a usage or setup error.
"""

import argparse
import collections
import concurrent.futures
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

SECTOR = 512
HERE = os.path.dirname(os.path.abspath(__file__))
CMD_TIMEOUT = 60
LOCK_FILE = "lock.mdb"
INF = float("inf")


def log(message):
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


# ---------------------------------------------------------------------------------------------
# Recording: parsing the shim's log into operations on nodes
# ---------------------------------------------------------------------------------------------

def unescape(text):
    if "%" not in text:
        return text
    out = bytearray()
    i = 0
    raw = text.encode()
    while i < len(raw):
        if raw[i] == 0x25 and i + 2 < len(raw):
            out.append(int(raw[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(raw[i])
            i += 1
    return out.decode("utf-8", "surrogateescape")


class Node:
    __slots__ = ("id", "kind", "ino", "target", "path")

    def __init__(self, node_id, kind, ino=0, target=None, path=""):
        self.id = node_id
        self.kind = kind          # "f" file, "d" directory, "l" symbolic link
        self.ino = ino
        self.target = target
        self.path = path          # a name it had, for messages


class Op:
    """One operation of the model.

    kind: W write, T truncate, X extend (fallocate), F fsync/fdatasync, N name change,
          G sync everything, M mark (acknowledgement text)."""
    __slots__ = ("kind", "node", "off", "data", "sync", "size", "changes", "dir", "requires", "text", "desc", "barrier")

    def __init__(self, kind, **fields):
        self.kind = kind
        self.node = fields.get("node")
        self.off = fields.get("off", 0)
        self.data = fields.get("data")
        self.sync = fields.get("sync", False)
        self.size = fields.get("size", 0)
        self.changes = fields.get("changes")      # N: [(dir node id, name, node id or None)], one directory
        self.dir = fields.get("dir")              # N: that directory
        self.requires = fields.get("requires")    # N: index of the op that must be applied with this one
        self.text = fields.get("text")
        self.desc = fields.get("desc", "")
        self.barrier = fields.get("barrier", False)


class ModelError(Exception):
    pass


class Recording:
    """The operations of one recorded run, with what is durable where."""

    def __init__(self, raw, fs_model):
        self.fs_model = fs_model
        self.nodes = {0: Node(0, "d", path=".")}
        self.ops = []
        self.warnings = []
        self.counts = collections.Counter()
        self._next_node = 1
        self._entries = {0: {}}           # live namespace: dir node -> {name: node}
        self._fds = {}                    # fd -> node id
        self._parse(raw)
        self._durability()

    # -- live namespace --

    def _new_node(self, kind, ino=0, target=None, path=""):
        node = Node(self._next_node, kind, ino, target, path)
        self._next_node += 1
        self.nodes[node.id] = node
        if kind == "d":
            self._entries[node.id] = {}
        return node

    def _lookup_parent(self, rel):
        """(parent dir node id, name) of a path relative to the root; ModelError when a parent is missing."""
        if rel == ".":
            return None, None
        parts = rel.split("/")
        directory = 0
        for part in parts[:-1]:
            child = self._entries.get(directory, {}).get(part)
            if child is None or self.nodes[child].kind != "d":
                raise ModelError(f"path {rel}: {part} is not a known directory")
            directory = child
        return directory, parts[-1]

    def _lookup(self, rel):
        if rel == ".":
            return 0
        parent, name = self._lookup_parent(rel)
        return self._entries[parent].get(name)

    def _name_op(self, changes, desc, requires=None):
        self.ops.append(Op("N", changes=changes, dir=changes[0][0], requires=requires, desc=desc, barrier=True))
        for directory, name, node in changes:
            if node is None:
                self._entries[directory].pop(name, None)
            else:
                self._entries[directory][name] = node
        return len(self.ops) - 1

    # -- parsing --

    def _parse(self, raw):
        pos = 0
        end = len(raw)
        mv = memoryview(raw)
        header_seen = False
        pid, writers = None, []
        while pos < end:
            nl = raw.find(b"\n", pos)
            if nl < 0:
                raise ModelError(f"truncated log record at byte {pos}")
            fields = raw[pos:nl].decode("utf-8", "surrogateescape").split(" ")
            pos = nl + 1
            kind = fields[0]
            self.counts["record_" + kind] += 1
            if kind == "V":
                header_seen = True
                pid = fields[2]
                continue
            if pid not in writers:
                writers.append(pid)
                if len(writers) > 1:
                    raise ModelError(f"processes {writers} both changed the recorded directory; the model follows one")
            if kind in ("W", "M"):
                length = int(fields[4] if kind == "W" else fields[2])
                payload = mv[pos:pos + length]
                if len(payload) != length:
                    raise ModelError("truncated payload")
                pos += length
            else:
                payload = None
            handler = getattr(self, "_rec_" + kind, None)
            if handler is None:
                raise ModelError(f"unknown record {kind}")
            handler(fields, payload)
        if not header_seen:
            raise ModelError("the log has no header (did the shim load?)")

    def _rec_O(self, f, _):
        fd, flags, ino, isdir, rel = int(f[2]), int(f[3], 8), int(f[4]), f[5] == "1", unescape(f[6])
        self._fds.pop(fd, None)
        node_id = self._lookup(rel)
        if node_id is None:
            if not flags & os.O_CREAT:
                raise ModelError(f"open of {rel} without O_CREAT, but the model has no such file")
            parent, name = self._lookup_parent(rel)
            node = self._new_node("d" if isdir else "f", ino, path=rel)
            self._name_op([(parent, name, node.id)], f"create {rel}")
            self.counts["creates"] += 1
            node_id = node.id
        else:
            node = self.nodes[node_id]
            if node.ino and ino and node.ino != ino:
                self.warnings.append(f"inode of {rel} is {ino}, model says {node.ino}")
            node.ino = node.ino or ino
            if flags & os.O_TRUNC and node.kind == "f" and flags & (os.O_WRONLY | os.O_RDWR):
                self.ops.append(Op("T", node=node_id, size=0, desc=f"O_TRUNC {rel}"))
        self._fds[fd] = node_id

    def _rec_C(self, f, _):
        self._fds.pop(int(f[2]), None)

    def _rec_D(self, f, _):
        old, new = int(f[2]), int(f[3])
        self._fds.pop(new, None)
        if old >= 0 and old in self._fds:
            self._fds[new] = self._fds[old]

    def _fd_node(self, fd):
        if fd not in self._fds:
            raise ModelError(f"operation on descriptor {fd}, which the model does not know")
        return self._fds[fd]

    def _rec_W(self, f, payload):
        fd, off, sync = int(f[2]), int(f[3]), f[5] == "1"
        node = self._fd_node(fd)
        if off < 0:
            raise ModelError(f"write at unknown offset on {self.nodes[node].path}")
        self.ops.append(Op("W", node=node, off=off, data=payload, sync=sync, barrier=sync,
                           desc=f"{'O_DSYNC ' if sync else ''}write {len(payload)} B at {off} of {self.nodes[node].path}"))
        self.counts["writes"] += 1
        self.counts["dsync_writes" if sync else "plain_writes"] += 1
        self.counts["bytes_written"] += len(payload)

    def _rec_T(self, f, _):
        node = self._fd_node(int(f[2]))
        self.ops.append(Op("T", node=node, size=int(f[3]), desc=f"ftruncate {self.nodes[node].path} to {f[3]}"))
        self.counts["truncates"] += 1

    def _rec_TP(self, f, _):
        rel = unescape(f[3])
        node = self._lookup(rel)
        if node is None:
            raise ModelError(f"truncate of unknown {rel}")
        self.ops.append(Op("T", node=node, size=int(f[2]), desc=f"truncate {rel} to {f[2]}"))
        self.counts["truncates"] += 1

    def _rec_A(self, f, _):
        node = self._fd_node(int(f[2]))
        off, length, mode = int(f[3]), int(f[4]), int(f[5])
        if mode == 0:
            self.ops.append(Op("X", node=node, size=off + length, desc=f"fallocate {self.nodes[node].path}"))

    def _rec_S(self, f, _, what="fsync"):
        node = self._fd_node(int(f[2]))
        self.ops.append(Op("F", node=node, barrier=True, desc=f"{what} {self.nodes[node].path}"))
        self.counts[what + ("_dir" if self.nodes[node].kind == "d" else "_file")] += 1

    def _rec_Y(self, f, payload):
        self._rec_S(f, payload, "fdatasync")

    def _rec_R(self, f, _):
        self.counts["sync_file_range"] += 1

    def _rec_G(self, f, _):
        self.ops.append(Op("G", barrier=True, desc="sync"))
        self.counts["syncs"] += 1

    def _rec_N(self, f, _):
        flags, old, new = int(f[2]), unescape(f[3]), unescape(f[4])
        self.counts["renames"] += 1
        if old == "-":
            raise ModelError(f"rename from outside the root into {new}: content unknown")
        src_dir, src_name = self._lookup_parent(old)
        node = self._entries[src_dir].get(src_name)
        if node is None:
            raise ModelError(f"rename of unknown {old}")
        if new == "-":
            self._name_op([(src_dir, src_name, None)], f"rename {old} out of the root")
            return
        dst_dir, dst_name = self._lookup_parent(new)
        if (src_dir, src_name) == (dst_dir, dst_name):
            return
        if flags & 2:   # RENAME_EXCHANGE
            other = self._entries[dst_dir].get(dst_name)
            if src_dir == dst_dir:
                self._name_op([(src_dir, src_name, other), (dst_dir, dst_name, node)], f"exchange {old} {new}")
            else:
                self._name_op([(dst_dir, dst_name, node)], f"exchange {old} {new} (new side)")
                self._name_op([(src_dir, src_name, other)], f"exchange {old} {new} (old side)")
            return
        self.nodes[node].path = new
        if src_dir == dst_dir:
            self._name_op([(src_dir, src_name, None), (dst_dir, dst_name, node)], f"rename {old} -> {new}")
        else:
            add = self._name_op([(dst_dir, dst_name, node)], f"rename {old} -> {new} (new name)")
            self._name_op([(src_dir, src_name, None)], f"rename {old} -> {new} (old name gone)", requires=add)

    def _rec_U(self, f, _):
        rel = unescape(f[2])
        parent, name = self._lookup_parent(rel)
        self._name_op([(parent, name, None)], f"unlink {rel}")
        self.counts["unlinks"] += 1

    def _rec_Q(self, f, _):
        rel = unescape(f[2])
        parent, name = self._lookup_parent(rel)
        self._name_op([(parent, name, None)], f"rmdir {rel}")
        self.counts["rmdirs"] += 1

    def _rec_K(self, f, _):
        rel = unescape(f[3])
        if rel == ".":
            return   # the root itself: always there in a crash state
        parent, name = self._lookup_parent(rel)
        node = self._new_node("d", path=rel)
        self._name_op([(parent, name, node.id)], f"mkdir {rel}")
        self.counts["mkdirs"] += 1

    def _rec_L(self, f, _):
        old, new = unescape(f[2]), unescape(f[3])
        if old == "-" or new == "-":
            raise ModelError(f"link across the root: {old} {new}")
        node = self._lookup(old)
        parent, name = self._lookup_parent(new)
        self._name_op([(parent, name, node)], f"link {old} {new}")

    def _rec_Z(self, f, _):
        target, rel = unescape(f[2]), unescape(f[3])
        parent, name = self._lookup_parent(rel)
        node = self._new_node("l", target=target, path=rel)
        self._name_op([(parent, name, node.id)], f"symlink {rel}")

    def _rec_M(self, f, payload):
        text = bytes(payload).decode("utf-8", "replace")
        self.ops.append(Op("M", text=text, barrier=True, desc="acknowledgement"))

    # -- durability --

    def _durability(self):
        """durable_at[i]: the index of the first later op that makes op i durable (INF: none)."""
        n = len(self.ops)
        self.durable_at = [INF] * n
        next_f = {}
        next_g = INF
        next_any = INF
        journal = self.fs_model == "journal"
        for i in range(n - 1, -1, -1):
            op = self.ops[i]
            if op.kind == "W":
                self.durable_at[i] = i if op.sync else min(next_f.get(op.node, INF), next_g)
            elif op.kind in ("T", "X"):
                self.durable_at[i] = min(next_f.get(op.node, INF), next_g)
            elif op.kind == "N":
                at = min(next_f.get(op.dir, INF), next_g)
                if journal:
                    at = min(at, next_any)
                self.durable_at[i] = at
            elif op.kind == "F":
                next_f[op.node] = i
                next_any = i
            elif op.kind == "G":
                next_g = i
        self.marks_before = []      # marks_before[k]: acknowledged lines among ops[:k]
        acked = []
        self.ack_ops = []   # the op index of each acknowledgement
        pending = ""     # mark text not yet ended by a newline: a line counts once it is complete
        for i, op in enumerate(self.ops):
            self.marks_before.append(len(acked))
            if op.kind == "M":
                pending += op.text
                while "\n" in pending:
                    line, pending = pending.split("\n", 1)
                    parts = line.split()
                    if len(parts) == 3 and parts[0] == "ok":
                        acked.append((parts[1], parts[2]))
                        self.ack_ops.append(i)
        self.marks_before.append(len(acked))
        self.acked = acked
        # LMDB's commit points: its meta page written through its O_DSYNC descriptor.
        self.lmdb_commits = [i for i, op in enumerate(self.ops)
                             if op.kind == "W" and op.sync and self.nodes[op.node].path.endswith("data.mdb")]

    def acked_before(self, k):
        return self.acked[:self.marks_before[k]]

    def required_before(self, k, mode):
        """The acknowledged results a crash at k must keep: all of them, except in normal mode,
        where only those acknowledged before the second-last LMDB commit before k. A journal
        flush reads the journal, then applies it while commits go on being acknowledged; those
        are applied by the next flush (timed flushes never overlap; one due at the journal's
        limits runs in the call after the acknowledgement)."""
        acked = self.acked_before(k)
        if mode != "normal":
            return acked
        commits = [j for j in self.lmdb_commits if j < k]
        cut = commits[-2] if len(commits) >= 2 else -1
        return [a for a, at in zip(acked, self.ack_ops) if at < cut]

    def interesting_points(self):
        points = set()
        for i, op in enumerate(self.ops):
            if op.barrier:
                points.add(i)
                points.add(i + 1)
        return sorted(p for p in points if 0 <= p <= len(self.ops))

    # -- crash states --

    def choose(self, k, strategy, rng):
        """{op index: None (whole) or sorted list of kept sector numbers} for a crash at k."""
        ops, durable_at = self.ops, self.durable_at
        chosen = {}
        pending = []
        cut = None
        for i in range(k):
            kind = ops[i].kind
            if kind in ("M", "F", "G"):
                continue
            if durable_at[i] < k:
                chosen[i] = None
            else:
                pending.append(i)
        if strategy == "subset":
            p = rng.random()
            tear = rng.choice((0.0, 0.2, 0.5))
            for i in pending:
                if rng.random() < p:
                    chosen[i] = self._torn(ops[i], rng) if (ops[i].kind == "W" and rng.random() < tear) else None
        elif strategy == "prefix":
            cut = rng.randint(0, len(pending))
            for i in pending[:cut]:
                chosen[i] = None
            if cut and ops[pending[cut - 1]].kind == "W" and rng.random() < 0.5:
                chosen[pending[cut - 1]] = self._torn(ops[pending[cut - 1]], rng)
        elif strategy == "all":
            for i in pending:
                chosen[i] = None
        # The op in flight at the crash (torn), in order: for prefix only after all of its predecessors.
        in_order = strategy == "subset" or (strategy == "prefix" and cut == len(pending))
        if in_order and k < len(ops) and ops[k].kind == "W" and rng.random() < 0.3:
            torn = self._torn(ops[k], rng)
            if torn:
                chosen[k] = torn
        # The old name of a file renamed across directories goes only with its new name there.
        for i in list(chosen):
            req = ops[i].requires if ops[i].kind == "N" else None
            if req is not None and req not in chosen:
                chosen[req] = None
        return chosen

    @staticmethod
    def _torn(op, rng):
        first = op.off // SECTOR
        last = (op.off + len(op.data) - 1) // SECTOR
        count = last - first + 1
        if count < 2:
            return None
        keep = rng.randint(1, count - 1)
        return sorted(first + s for s in rng.sample(range(count), keep))

    def materialize(self, chosen, directory, skip_lock=True):
        """Writes the crash state into `directory` (which must exist and be empty)."""
        content = {}
        entries = {0: {}}
        for i in sorted(chosen):
            op = self.ops[i]
            sectors = chosen[i]
            if op.kind == "W":
                buf = content.setdefault(op.node, bytearray())
                if sectors is None:
                    _put(buf, op.off, op.data)
                else:
                    for s in sectors:
                        start = max(op.off, s * SECTOR)
                        stop = min(op.off + len(op.data), (s + 1) * SECTOR)
                        _put(buf, start, op.data[start - op.off:stop - op.off])
            elif op.kind == "T":
                buf = content.setdefault(op.node, bytearray())
                if len(buf) > op.size:
                    del buf[op.size:]
                else:
                    buf.extend(bytes(op.size - len(buf)))
            elif op.kind == "X":
                buf = content.setdefault(op.node, bytearray())
                if len(buf) < op.size:
                    buf.extend(bytes(op.size - len(buf)))
            elif op.kind == "N":
                for d, name, node in op.changes:
                    names = entries.setdefault(d, {})
                    if node is None:
                        names.pop(name, None)
                    else:
                        names[name] = node
        made = {}
        files = 0

        def walk(dir_node, path, depth):
            nonlocal files
            if depth > 64:
                return
            for name, node_id in sorted(entries.get(dir_node, {}).items()):
                if skip_lock and dir_node == 0 and name == LOCK_FILE:
                    continue
                target = os.path.join(path, name)
                node = self.nodes[node_id]
                if node.kind == "d":
                    if node_id in made:
                        continue   # a directory with two names: keep the first
                    os.mkdir(target, 0o700)
                    made[node_id] = target
                    walk(node_id, target, depth + 1)
                elif node.kind == "l":
                    os.symlink(node.target, target)
                elif node_id in made:
                    os.link(made[node_id], target)
                else:
                    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    try:
                        data = content.get(node_id)
                        if data:
                            os.write(fd, data)
                    finally:
                        os.close(fd)
                    made[node_id] = target
                    files += 1

        walk(0, directory, 0)
        return files


def _put(buf, off, data):
    end = off + len(data)
    if len(buf) < off:
        buf.extend(bytes(off - len(buf)))
    buf[off:end] = data


# ---------------------------------------------------------------------------------------------
# Running things
# ---------------------------------------------------------------------------------------------

STATE_PATH = re.compile(r"/\S*?/state-[a-z]+-\d+(/store)?")


class Result:
    def __init__(self, argv, code, out, err, seconds, timed_out=False):
        self.argv, self.code, self.out, self.err, self.seconds, self.timed_out = argv, code, out, err, seconds, timed_out

    @property
    def signal(self):
        return -self.code if self.code is not None and self.code < 0 else None

    def brief(self):
        what = "timeout" if self.timed_out else (f"signal {self.signal}" if self.signal else f"exit {self.code}")
        lines = [l.strip() for l in self.err.splitlines() if l.strip() and not l.startswith("Backtrace took")
                 and "failed to suspend thread" not in l]
        pick = [l for l in lines if l.startswith("error:") or "Assertion" in l or "Program crashed" in l or "Fatal error" in l]
        tail = STATE_PATH.sub("STATE", (pick or lines or [""])[0 if pick else -1])[:300]
        words = [os.path.basename(self.argv[0])] + [STATE_PATH.sub("STATE", a) for a in self.argv[1:]]
        return f"`{' '.join(words)}` {what}{': ' + tail if tail else ''}"


def run(argv, env=None, timeout=CMD_TIMEOUT, cwd=None):
    start = time.monotonic()
    try:
        proc = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout)
        return Result(argv, proc.returncode, proc.stdout.decode("utf-8", "replace"),
                      proc.stderr.decode("utf-8", "replace"), time.monotonic() - start)
    except subprocess.TimeoutExpired as e:
        return Result(argv, None, (e.stdout or b"").decode("utf-8", "replace"),
                      (e.stderr or b"").decode("utf-8", "replace"), time.monotonic() - start, timed_out=True)


def clean_env():
    env = dict(os.environ)
    # A crash prints the crashed thread only, without registers (the frames go to the report).
    env["SWIFT_BACKTRACE"] = "limit=30,threads=crashed,registers=none,images=none,interactive=no,color=no"
    for key in ("LD_PRELOAD", "CASHET_DIR", "CASHET_PL_ROOT", "CASHET_PL_LOG", "CASHET_PL_MARKS"):
        env.pop(key, None)
    return env


def build_shim(workdir):
    source = os.path.join(HERE, "shim.c")
    target = os.path.join(workdir, "shim.so")
    cc = os.environ.get("CC", "gcc")
    r = run([cc, "-shared", "-fPIC", "-O2", "-U_FORTIFY_SOURCE", "-o", target, source, "-ldl", "-lpthread"], timeout=120)
    if r.code != 0:
        raise SystemExit(f"building the shim failed:\n{r.err}")
    return target


def record(args, shim, workdir, mode):
    """Runs the workload under the shim (or reuses a saved recording, --recordings); returns
    (Recording, seconds, workload seed, log size)."""
    reuse = False
    if args.recordings:
        base = os.path.realpath(os.path.join(args.recordings, mode))
        reuse = os.path.exists(os.path.join(base, "ops.log"))
        if not reuse and os.path.exists(base):
            shutil.rmtree(base)
    else:
        base = os.path.realpath(os.path.join(workdir, f"record-{mode}"))
    store = os.path.join(base, "store")
    ops_log = os.path.join(base, "ops.log")
    acks = os.path.join(base, "acks.log")
    workload_seed = args.seed * 7919 + (0 if mode == "durable" else 1)
    seconds = 0.0
    if not reuse:
        os.makedirs(base)
        env = clean_env()
        env.update({"LD_PRELOAD": shim, "CASHET_PL_ROOT": store, "CASHET_PL_LOG": ops_log,
                    "CASHET_PL_MARKS": acks, "CASHET_DURABILITY": mode})
        argv = [os.path.join(args.bin, "CashetTestHelper"), "writes", store, acks, str(workload_seed), str(args.steps)]
        start = time.monotonic()
        r = run(argv, env=env, timeout=args.record_timeout)
        seconds = time.monotonic() - start
        if r.code != 0:
            raise SystemExit(f"recording ({mode}) failed: {r.brief()}\n{r.err[-2000:]}")
    else:
        log(f"[{mode}] reusing the recording in {base}")
    with open(ops_log, "rb") as fh:
        raw = fh.read()
    rec = Recording(raw, args.fs_model)
    # The shim must have seen every acknowledgement.
    with open(acks) as fh:
        lines = [line.split() for line in fh if line.startswith("ok ")]
    if [tuple(p[1:3]) for p in lines] != rec.acked:
        raise SystemExit(f"recording ({mode}): the shim saw {len(rec.acked)} acknowledgements, the log has {len(lines)}")
    # Self-check: replaying everything must give exactly the store the run left.
    replay = os.path.join(workdir, f"replay-{mode}")
    os.mkdir(replay)
    rec.materialize({i: None for i, op in enumerate(rec.ops) if op.kind in ("W", "T", "X", "N")}, replay)
    diff = compare_trees(store, replay)
    if diff:
        raise SystemExit(f"recording ({mode}): the model does not reproduce the store: {diff[:5]}")
    shutil.rmtree(replay)
    return rec, seconds, workload_seed, len(raw)


# The journal's shared hints (bytes 64..<80 of its first page) are written through a shared
# memory map, which the shim cannot see: the model never has them. The store never trusts them
# (every record is verified), so a crash state keeps whatever the last recorded write left there.
JOURNAL_FILE = "journal"
HINTS = slice(64, 80)


def mask_hints(data):
    return data[:HINTS.start] + bytes(HINTS.stop - HINTS.start) + data[HINTS.stop:] if len(data) >= HINTS.stop else data


def compare_trees(real, model):
    problems = []
    for dirpath, dirnames, filenames in os.walk(real):
        rel = os.path.relpath(dirpath, real)
        other = os.path.normpath(os.path.join(model, rel))
        if not os.path.isdir(other):
            problems.append(f"directory {rel} missing")
            continue
        for name in filenames:
            if rel == "." and name == LOCK_FILE:
                continue
            a, b = os.path.join(dirpath, name), os.path.join(other, name)
            if not os.path.exists(b):
                problems.append(f"{os.path.join(rel, name)} missing")
            else:
                with open(a, "rb") as fa, open(b, "rb") as fb:
                    ra, rb = fa.read(), fb.read()
                    if rel == "." and name == JOURNAL_FILE:
                        ra, rb = mask_hints(ra), mask_hints(rb)
                    if ra != rb:
                        problems.append(f"{os.path.join(rel, name)} differs")
        for name in set(os.listdir(other)) - set(dirnames) - set(filenames):
            problems.append(f"{os.path.join(rel, name)} extra in the model")
    return problems


# ---------------------------------------------------------------------------------------------
# Checking one crash state
# ---------------------------------------------------------------------------------------------

STRATEGIES = (("subset", 0.60), ("prefix", 0.25), ("durable", 0.075), ("all", 0.075))


def plan_states(rec, args, mode):
    """(index, k, strategy, seed) for each state; reproducible from --seed."""
    rng = random.Random(f"powerloss:{args.seed}:{mode}:plan")
    points = rec.interesting_points()
    n = len(rec.ops)
    plans = []
    for index in range(args.states):
        if index == 0:
            k = n                     # everything issued has happened
        elif rng.random() < 0.5 or not points:
            k = rng.randint(0, n)
        else:
            k = rng.choice(points)
        roll = rng.random()
        strategy = STRATEGIES[-1][0]
        for name, weight in STRATEGIES:
            if roll < weight:
                strategy = name
                break
            roll -= weight
        plans.append((index, k, strategy, f"powerloss:{args.seed}:{mode}:{index}"))
    return plans


OUTCOMES = ("clean", "repaired", "damaged_unrepaired", "unopenable", "crashed", "uninitialized")


class Check:
    """What one crash state did. `reasons` are failures in durable mode (in nosync mode only
    signals, exit 2 and timeouts are failures; the rest is what nosync costs)."""

    def __init__(self, mode, index, k, strategy, where):
        self.mode, self.index, self.k, self.strategy, self.where = mode, index, k, strategy, where
        self.outcome = None
        self.signals = []             # "command: signal N"
        self.bad_exits = []           # "command: exit 2" (or an exit cashet does not document)
        self.timeouts = []
        self.reasons = collections.OrderedDict()   # failure kind -> first detail
        self.acked_checked = 0
        self.acked_lost = 0
        self.valid_removed = 0
        self.stats_failed = False
        self.problem_kinds = collections.Counter()
        self.fsck_exit = None
        self.messages = []            # details kept with --keep-failures
        self.crash_frames = []
        self.unopenable = None        # why the store would not open
        self.reopen = None            # "ok" / "failed" / "crashed": the application starting on the state
        self.reopen_error = None

    def fail(self, kind, detail):
        self.reasons.setdefault(kind, detail)

    @property
    def hard_failure(self):
        return bool(self.signals or self.bad_exits or self.timeouts)

    @property
    def failed(self):
        # In any mode, a repair never removes a result that was served before it; and with
        # --rebuild, it always leaves a clean store.
        return self.hard_failure or (self.mode in ("durable", "normal") and bool(self.reasons)) or bool(self.always_fail & set(self.reasons))

    def line(self):
        text = f"{self.where}: " + "; ".join(f"{kind}: {detail}" for kind, detail in self.reasons.items())
        return text if len(text) <= 700 else text[:697] + "..."


def crash_frames(stderr):
    """What a crash printed: assertion and fatal-error lines, the Swift runtime's one-line
    summary, and the crashed thread's first frames."""
    lines = [l.rstrip() for l in stderr.splitlines()]
    out = [l.strip() for l in lines if re.search(r"Assertion|Fatal error|fatal error|Program crashed:|precondition", l)][:3]
    for i, line in enumerate(lines):
        if re.match(r"^Thread \d+ .*crashed:$", line):
            out.extend(l.strip() for l in lines[i + 1:i + 6]
                       if l.strip() and l.strip() != "..." and not l.startswith("Backtrace took"))
            break
    return out or lines[-3:]


UNOPENABLE_MARKERS = (
    ("has no data.mdb", "no data.mdb"),
    ("MDB_INVALID", "MDB_INVALID (data.mdb not an LMDB file)"),
    ("MDB_CORRUPTED", "MDB_CORRUPTED"),
    ("MDB_PAGE_NOTFOUND", "MDB_PAGE_NOTFOUND"),
    ("MDB_VERSION_MISMATCH", "MDB_VERSION_MISMATCH"),
    ("has no 'meta' table", "no meta table"),
    ("data.mdb is empty", "empty data.mdb"),
    ("no cashet schema version", "no schema version"),
)


def unopenable_kind(result):
    """A short name for why the store would not open, from the command's error message."""
    for marker, name in UNOPENABLE_MARKERS:
        if marker in result.err:
            return name
    if result.signal:
        return f"signal {result.signal}"
    error = [l for l in result.err.splitlines() if l.startswith("error:")]
    text = error[-1] if error else (result.err.strip().splitlines() or ["?"])[-1]
    return "other: " + STATE_PATH.sub("STATE", text)[:100]


def check_state(args, rec, mode, plan, workdir):
    index, k, strategy, seed = plan
    rng = random.Random(seed)
    chosen = rec.choose(k, strategy, rng)
    where = f"{mode} seed={args.seed} state={index} k={k}/{len(rec.ops)} {strategy}"
    where += f" (before: {rec.ops[k].desc})" if k < len(rec.ops) else " (end)"
    c = Check(mode, index, k, strategy, where)
    c.always_fail = {"valid-removed"} | ({"repair-not-clean", "stats-after-repair"} if args.rebuild else set())
    base = os.path.join(workdir, f"state-{mode}-{index}")
    store = os.path.join(base, "store")
    os.makedirs(store)
    rec.materialize(chosen, store)
    acked = rec.acked_before(k)
    required = rec.required_before(k, mode)
    cashet = os.path.join(args.bin, "cashet")
    env = clean_env()

    def judge(r, name, allowed):
        if r.timed_out:
            c.timeouts.append(f"{name}: timeout")
            c.fail("timeout", r.brief())
        elif r.signal:
            c.signals.append(f"{name}: signal {r.signal}")
            c.fail("signal", r.brief())
            if not c.crash_frames:
                c.crash_frames = crash_frames(r.err)
        elif r.code == 2 or r.code not in allowed + (0, 1, 3, 4):
            c.bad_exits.append(f"{name}: exit {r.code}")
            c.fail("exit-2" if r.code == 2 else "bad-exit", r.brief())
        return r

    def cli(*argv, allowed=(0,)):
        r = run([cashet, "--store", store, *argv], env=env, timeout=CMD_TIMEOUT)
        name = " ".join(a for a in argv if a.startswith("--repair") or not a.startswith("-"))
        name = name.split(" ")[0] + (" --repair" if "--repair" in argv else "")
        return judge(r, name, allowed)

    def listing():
        """{commit: (output hash, size)} from `log --json`, or None when log failed."""
        r = cli("log", "--json", allowed=(0, 1))
        if r.code not in (0, 1):
            return None, r
        found = {}
        for line in r.out.splitlines():
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            output = obj.get("output") or {}
            found[obj.get("hash")] = (output.get("hash"), output.get("size", 0))
        return found, r

    def verify(found, label, sample=None):
        """Acknowledged results that `found` lists with their SHA-256 and whose sampled bytes
        (`get`) hash right. Returns (valid set, sample used)."""
        valid = set()
        if found is None:
            return valid, []
        for commit, sha in acked:
            entry = found.get(commit)
            if entry and entry[0] == sha:
                valid.add(commit)
        if sample is None:
            sample = []
            if acked:
                sample.append(acked[-1])
                sample.extend(a for a in acked[:-1] if found.get(a[0]) and found[a[0]][1] >= args.large_threshold)
                rest = [a for a in acked if a not in sample and a[0] in valid]
                sample.extend(rest if args.get_all else rng.sample(rest, min(len(rest), args.get_sample)))
        for commit, sha in sample:
            if commit not in valid:
                continue
            ok, r = served(commit, sha)
            if not ok:
                valid.discard(commit)
                c.messages.append(f"{label}: get {commit[:12]}: {r.brief() if r.code else 'bytes do not hash to the acknowledged SHA-256'}")
        return valid, sample

    def served(commit, sha, at=None):
        """Whether `get` gives bytes that hash to `sha` (from the store at `at`, a copy, when
        given); and the command's result."""
        out = os.path.join(base, "get.out")
        argv = ("get", commit, "--binary", "-o", out)
        if at is None:
            r = cli(*argv, allowed=(0, 1, 3))
        else:
            r = judge(run([cashet, "--store", at, *argv], env=env, timeout=CMD_TIMEOUT), "get", (0, 1, 3))
        ok = False
        if r.code == 0 and os.path.exists(out):
            h = hashlib.sha256()
            with open(out, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            ok = h.hexdigest() == sha
        if os.path.exists(out):
            os.unlink(out)
        return ok, r

    # 1. Acknowledged results, as the crash left them.
    found, log_result = listing()
    valid_before, sample = verify(found, "before repair")
    c.acked_checked = len(required)
    lost = [a for a in required if a[0] not in valid_before]
    c.acked_lost = len(lost)
    if lost:
        why = log_result.brief() if found is None else (f"log lists {sum(1 for a in lost if a[0] in found)} of them" + (f"; {c.messages[0]}" if c.messages else ""))
        c.fail("acked-lost", f"{len(lost)} of {len(required)} acknowledged results lost or wrong (e.g. {lost[0][0][:12]}; {why})")
    # In normal mode a result past the last flush may be gone, but never listed wrong.
    wrong = [a for a in acked if found and a[0] in found and found[a[0]][0] != a[1]]
    if wrong:
        c.fail("acked-wrong", f"{len(wrong)} acknowledged results listed with another result (e.g. {wrong[0][0][:12]})")

    # 2. fsck.
    fsck = cli("fsck", "--json", allowed=(0, 3))
    c.fsck_exit = fsck.code
    report = parse_json(fsck.out)
    problems = (report or {}).get("problems", [])
    for p in problems:
        c.problem_kinds[p.get("kind", "?")] += 1
    if report is None:
        # The store did not open (or fsck died): nothing was checked. Can the application start
        # on it again (open as a writer, creating what is missing, and write)?
        c.outcome = "crashed" if (fsck.signal or fsck.timed_out) else "unopenable"
        c.unopenable = unopenable_kind(fsck)
        again = run([os.path.join(args.bin, "CashetTestHelper"), "writes", store, os.path.join(base, "acks2.log"), "1", "1"],
                    env=dict(env, CASHET_DURABILITY=mode), timeout=CMD_TIMEOUT)
        if again.signal or again.timed_out:
            judge(again, "reopen", (0,))   # the helper exits 2 on any error: only crashes count here
        c.reopen = "ok" if again.code == 0 else ("crashed" if again.signal or again.timed_out else "failed")
        if c.reopen != "ok":
            c.reopen_error = unopenable_kind(again)
            c.messages.append(f"reopen: {again.brief()}")
        if c.outcome == "unopenable" and not acked and c.reopen == "ok":
            # A crash before anything was acknowledged (the store being created): fine when the
            # application can start on it again.
            c.outcome = "uninitialized"
            return finish(args, c, base, rec, chosen)
        if c.outcome == "unopenable":
            c.fail("unopenable", f"fsck: {fsck.brief()}; the application {'can' if c.reopen == 'ok' else 'cannot'} start on it"
                   + ("" if c.reopen == "ok" else f" ({again.brief()})"))
        return finish(args, c, base, rec, chosen)

    # 3. stats.
    stats = cli("stats", "--json")
    if stats.code != 0 or parse_json(stats.out) is None:
        c.stats_failed = True
        c.fail("stats", stats.brief())

    damage = collections.Counter(p.get("kind") for p in problems if p.get("damage"))
    if fsck.code == 3:
        c.fail("damage", "fsck found " + ", ".join(f"{n}x {kind}" for kind, n in sorted(damage.items())))
    if fsck.code == 0 and not problems:
        c.outcome = "clean"
        return finish(args, c, base, rec, chosen)

    # 4. Repair, then everything must be clean and every valid result kept.
    rebuild = ("--rebuild",) if args.rebuild and damage.get("damaged-structure") else ()
    # `log` lists commits whose result may not load (only a sample was fetched): a copy lets
    # each one the repair drops be fetched as the crash left it.
    before = store + ".before-repair"
    shutil.copytree(store, before, symlinks=True)
    repair = cli("fsck", "--repair", *rebuild, "--json", allowed=(0, 3))
    again = cli("fsck", "--json", allowed=(0, 3))
    again_report = parse_json(again.out) or {}
    if again.code == 0 and not again_report.get("problems"):
        c.outcome = "repaired"
    else:
        c.outcome = "damaged_unrepaired"
        left = collections.Counter(p.get("kind") for p in again_report.get("problems", []))
        c.fail("repair-not-clean", f"fsck --repair: {repair.brief()}; then fsck: {again.brief()} {dict(left) if left else ''}")
    stats = cli("stats", "--json")
    if stats.code != 0 or parse_json(stats.out) is None:
        c.stats_failed = True
        c.fail("stats-after-repair", stats.brief())
    found_after, log_after = listing()
    if valid_before:
        still, _ = verify(found_after, "after repair", sample)
        shas = dict(acked)
        removed = [cm for cm in valid_before if cm not in still and served(cm, shas[cm], at=before)[0]]
        c.valid_removed = len(removed)
        if removed:
            c.fail("valid-removed", f"fsck --repair removed or changed {len(removed)} valid acknowledged result(s), e.g. {removed[0][:12]}"
                   + ("" if found_after is not None else f" (log: {log_after.brief()})"))
    return finish(args, c, base, rec, chosen)


def parse_json(text):
    for line in reversed(text.strip().splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    return None


KEPT = collections.Counter()
KEPT_LOCK = threading.Lock()


def should_keep(args, c):
    """Keeps up to --keep-max failing states per mode, the first of each failure kind first."""
    if not (args.keep_failures and (c.failed or c.reopen in ("failed", "crashed"))):
        return False
    kinds = tuple(sorted(set(c.reasons) | {s.split(":")[0] for s in c.signals} | {f"reopen {c.reopen}"}))
    with KEPT_LOCK:
        if KEPT[(c.mode, "total")] >= args.keep_max:
            return False
        if KEPT[(c.mode, kinds)] >= max(1, args.keep_max // 5):
            return False
        KEPT[(c.mode, "total")] += 1
        KEPT[(c.mode, kinds)] += 1
        return True


def finish(args, c, base, rec, chosen):
    if should_keep(args, c):
        target = os.path.join(args.keep_failures, os.path.basename(base))
        if os.path.exists(target):
            shutil.rmtree(target)
        os.makedirs(target)
        # A fresh copy of the crash state (the checks changed the one they ran on).
        fresh = os.path.join(target, "store")
        os.makedirs(fresh)
        rec.materialize(chosen, fresh)
        with open(os.path.join(target, "state.json"), "w") as fh:
            json.dump({"where": c.where, "mode": c.mode, "index": c.index, "k": c.k, "ops": len(rec.ops),
                       "strategy": c.strategy, "outcome": c.outcome, "reasons": c.reasons,
                       "signals": c.signals, "bad_exits": c.bad_exits, "crash_frames": c.crash_frames,
                       "messages": c.messages, "problem_kinds": c.problem_kinds,
                       "ops_before": [rec.ops[i].desc for i in range(max(0, c.k - 8), c.k)],
                       "acked": rec.acked_before(c.k)}, fh, indent=1)
    shutil.rmtree(base, ignore_errors=True)
    return c


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

def tally(checks):
    oc = collections.Counter(c.outcome for c in checks)
    t = collections.OrderedDict(states=len(checks))
    for key in OUTCOMES:
        t[key] = oc.get(key, 0)
    t["signals"] = sum(1 for c in checks if c.signals)
    t["app_cannot_start"] = sum(1 for c in checks if c.reopen in ("failed", "crashed"))
    t["states_with_acked_loss"] = sum(1 for c in checks if c.acked_lost)
    t["acked_lost"] = sum(c.acked_lost for c in checks)
    return t


def summarize(mode, rec, checks, record_info):
    s = tally(checks)
    s["fsck_found_damage"] = sum(1 for c in checks if c.fsck_exit == 3 and c.outcome != "unopenable")
    s["bad_exit_codes"] = sum(1 for c in checks if c.bad_exits)
    s["timeouts"] = sum(1 for c in checks if c.timeouts)
    s["stats_failures"] = sum(1 for c in checks if c.stats_failed)
    s["acked_checked"] = sum(c.acked_checked for c in checks)
    s["valid_removed_by_repair"] = sum(c.valid_removed for c in checks)
    s["problem_kinds"] = dict(sum((c.problem_kinds for c in checks), collections.Counter()))
    s["signal_kinds"] = dict(collections.Counter(x for c in checks for x in c.signals))
    # A signal of the application starting on the state ("reopen": a library user, which cannot
    # catch a fault inside LMDB) apart from the CLI's, which must never die by one.
    s["app_signals"] = sum(n for kind, n in s["signal_kinds"].items() if kind.startswith("reopen"))
    s["cli_signals"] = sum(n for kind, n in s["signal_kinds"].items() if not kind.startswith("reopen"))
    s["bad_exit_kinds"] = dict(collections.Counter(x for c in checks for x in c.bad_exits))
    s["unopenable_kinds"] = dict(collections.Counter(c.unopenable for c in checks if c.unopenable))
    s["reopen_after_unopenable"] = dict(collections.Counter(c.reopen for c in checks if c.reopen))
    s["reopen_errors"] = dict(collections.Counter(c.reopen_error for c in checks if c.reopen_error))
    s["failure_kinds"] = dict(collections.Counter(kind for c in checks for kind in c.reasons))
    s["by_strategy"] = {name: tally(group) for name, _ in STRATEGIES
                        if (group := [c for c in checks if c.strategy == name])}
    failing = [c for c in checks if c.failed]
    s["failed_states"] = len(failing)
    s["failures"] = [c.line() for c in failing[:40]]
    crashes = collections.OrderedDict()
    for c in checks:
        if c.crash_frames:
            crashes.setdefault(" | ".join(c.crash_frames[:3]), f"state {c.index}")
    s["crash_sites"] = [f"{where}: {frames}" for frames, where in list(crashes.items())[:10]]
    if mode != "durable":
        s["examples"] = [c.line() for c in checks if c.reasons and not c.failed][:8]
    s["recording"] = record_info
    return s


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--states", type=int, default=50, help="crash states per mode (long form: 1000)")
    parser.add_argument("--seed", type=int, default=1, help="seeds the workload, the crash points and every state's choices")
    parser.add_argument("--modes", default="durable,normal,nosync", help="comma-separated: durable, normal, nosync")
    parser.add_argument("--bin", required=True, help="directory holding cashet and CashetTestHelper")
    parser.add_argument("--steps", type=int, default=40, help="workload steps to record")
    parser.add_argument("--keep-failures", metavar="DIR",
                        help="copy failing crash states (and nosync states the application cannot start on), fresh, with a report, here")
    parser.add_argument("--keep-max", type=int, default=25, help="at most this many kept states per mode")
    parser.add_argument("--fs-model", choices=("posix", "journal"), default="posix",
                        help="posix: names durable only by fsync of their directory; journal: any fsync commits all earlier name changes")
    parser.add_argument("--jobs", type=int, default=2, help="states checked at once")
    parser.add_argument("--get-sample", type=int, default=3, help="random acknowledged results fetched with `get` per state besides the newest and the file-sized ones")
    parser.add_argument("--rebuild", action="store_true",
                        help="repair structurally damaged data.mdb files with `fsck --repair --rebuild` (without it they are left unrepaired, as plain --repair does)")
    parser.add_argument("--get-all", action="store_true", help="fetch every acknowledged result with `get`")
    parser.add_argument("--large-threshold", type=int, default=256 << 10)
    parser.add_argument("--only-state", type=int, help="check only this state index (to reproduce one)")
    parser.add_argument("--record-timeout", type=int, default=600)
    parser.add_argument("--recordings", metavar="DIR",
                        help="keep each mode's recording in DIR/MODE and reuse it when present (then a state index always names the same crash state)")
    parser.add_argument("--workdir", help="scratch directory (default: a new temporary one, removed afterwards)")
    args = parser.parse_args()
    args.bin = os.path.abspath(args.bin)
    if args.keep_failures:
        args.keep_failures = os.path.abspath(args.keep_failures)
    if args.recordings:
        args.recordings = os.path.abspath(args.recordings)
        os.makedirs(args.recordings, exist_ok=True)
    modes = [m for m in args.modes.split(",") if m]
    for m in modes:
        if m not in ("durable", "normal", "nosync"):
            parser.error(f"unknown mode {m}")
    for tool in ("cashet", "CashetTestHelper"):
        if not os.access(os.path.join(args.bin, tool), os.X_OK):
            parser.error(f"{tool} not found in {args.bin}")

    started = time.monotonic()
    own_workdir = args.workdir is None
    workdir = os.path.realpath(tempfile.mkdtemp(prefix="cashet-powerloss-") if own_workdir else args.workdir)
    os.makedirs(workdir, exist_ok=True)
    summary = collections.OrderedDict(seed=args.seed, fs_model=args.fs_model, steps=args.steps, states_per_mode=args.states)
    failed = False
    try:
        shim = build_shim(workdir)
        for mode in modes:
            if not (args.recordings and os.path.exists(os.path.join(args.recordings, mode, "ops.log"))):
                log(f"[{mode}] recording {args.steps} steps ...")
            rec, seconds, workload_seed, log_bytes = record(args, shim, workdir, mode)
            info = {"workload_seed": workload_seed, "seconds": round(seconds, 1), "ops": len(rec.ops),
                    "log_bytes": log_bytes, "acked": len(rec.acked),
                    "durable_ops_at_end": sum(1 for i, op in enumerate(rec.ops) if op.kind in "WTXN" and rec.durable_at[i] < len(rec.ops)),
                    "counts": {k: v for k, v in sorted(rec.counts.items()) if not k.startswith("record_")},
                    "model_warnings": rec.warnings[:5]}
            log(f"[{mode}] {len(rec.ops)} ops, {len(rec.acked)} acknowledged results, {log_bytes >> 10} KiB log in {seconds:.1f} s")
            plans = plan_states(rec, args, mode)
            if args.only_state is not None:
                plans = [p for p in plans if p[0] == args.only_state]
            checks = []
            lock = threading.Lock()
            done = 0
            t0 = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
                futures = [pool.submit(check_state, args, rec, mode, plan, workdir) for plan in plans]
                for future in concurrent.futures.as_completed(futures):
                    c = future.result()
                    with lock:
                        checks.append(c)
                        done += 1
                        if c.failed:
                            log(f"[{mode}] " + c.line()[:400])
                        if done % 25 == 0 or done == len(plans):
                            log(f"[{mode}] {done}/{len(plans)} states, {time.monotonic() - t0:.0f} s")
            checks.sort(key=lambda c: c.index)
            s = summarize(mode, rec, checks, info)
            summary[mode] = s
            if mode in ("durable", "normal") and (s["failed_states"] or s["signals"]):
                failed = True
            # In any mode: a served result a repair removed; with --rebuild, a repair that left
            # the state unclean.
            if any(c.always_fail & set(c.reasons) for c in checks):
                failed = True
            if s["cli_signals"] or s["bad_exit_codes"] or s["timeouts"]:
                failed = True
    finally:
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    summary["seconds"] = round(time.monotonic() - started, 1)
    summary["ok"] = not failed
    print(json.dumps(summary, indent=None))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
