"""A read-only map of an LMDB data.mdb (format of LMDB 0.9, 64-bit): which pages are live, what
each byte range of them holds, and which records a damaged range can reach. Used by flips.py to
aim byte flips at pages that hold data, and to know which results a flip may rightly cost.

Layout (lmdb/mdb.c): every page starts with a 16-byte header (pgno u64, pad u16, flags u16,
lower u16 / upper u16, or pages u32 for overflow pages). Pages 0 and 1 are meta pages (MDB_meta
at offset 16: magic, version, address, mapsize, two MDB_db of 48 bytes (free list, main),
last_pg at 136, txnid at 144); the current one has the larger txnid. Branch and leaf pages hold
node offsets (u16) from 16 to `lower` and nodes from `upper` to the end; a node is lo u16, hi
u16, flags u16, ksize u16, key, data. A branch node's child is lo | hi << 16 | flags << 32; a
leaf node's data size is lo | hi << 16, and its data is an overflow page number (F_BIGDATA 1), an
MDB_db (F_SUBDATA 2: a named table, or a sub-tree of duplicates with F_DUPDATA 4), or inline (a
sub-page of duplicates with F_DUPDATA alone).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

P_BRANCH, P_LEAF, P_OVERFLOW, P_META, P_LEAF2, P_SUBP = 0x01, 0x02, 0x04, 0x08, 0x20, 0x40
F_BIGDATA, F_SUBDATA, F_DUPDATA = 0x01, 0x02, 0x04
P_INVALID = (1 << 64) - 1
MDB_MAGIC = 0xBEEFC0DE
HEADER = 16


@dataclass
class Range:
    """Bytes [start, end) of the file and what they are."""
    start: int
    end: int
    region: str                 # meta-current, meta-old, page-header:T, branch-node:T, leaf-node:T, overflow:T, subtree-root:T
    table: str                  # the table ("commits", "blobs", … "main", "free")
    scope: list[tuple[int, int]] = field(default_factory=list)   # byte ranges whose records this damage may cost


@dataclass
class PageMap:
    page_size: int
    last_page: int
    current_meta: int
    ranges: list[Range]
    pages: dict[int, str]       # live page → "meta" / "branch:T" / "leaf:T" / "overflow:T"

    @property
    def used_end(self) -> int:
        return (self.last_page + 1) * self.page_size


def _header(data: bytes, page: int, size: int) -> tuple[int, int, int, int]:
    base = page * size
    pgno, _pad, flags, lower, upper = struct.unpack_from("<QHHHH", data, base)
    return pgno, flags, lower, upper


def read_map(path: str) -> PageMap:
    with open(path, "rb") as handle:
        data = handle.read()
    metas = []
    # The page size is in the free-list MDB_db's md_pad of meta page 0 (at file offset 40).
    size = struct.unpack_from("<I", data, 40)[0]
    if size not in (4096, 8192, 16384, 32768, 65536):
        size = 4096
    for page in (0, 1):
        base = page * size
        magic, version = struct.unpack_from("<II", data, base + HEADER)
        if magic != MDB_MAGIC:
            raise ValueError(f"{path}: meta page {page} has no LMDB magic")
        free_db = data[base + 40: base + 88]
        main_db = data[base + 88: base + 136]
        last_pg, txnid = struct.unpack_from("<QQ", data, base + 136)
        metas.append((txnid, page, free_db, main_db, last_pg))
    txnid, current, free_db, main_db, last_pg = max(metas)
    ranges: list[Range] = []
    pages: dict[int, str] = {0: "meta", 1: "meta"}
    everything = [(0, (last_pg + 1) * size)]
    for _, page, *_ in metas:
        ranges.append(Range(page * size, page * size + 152, "meta-current" if page == current else "meta-old", "meta",
                            everything if page == current else []))

    def subtree_scope(root: int) -> list[tuple[int, int]]:
        """Byte ranges of every page of the tree at `root` (what a damaged pointer to it may cost)."""
        scope, stack, seen = [], [root], set()
        while stack:
            page = stack.pop()
            if page in seen or page == P_INVALID or page > last_pg:
                continue
            seen.add(page)
            _, flags, lower, upper = _header(data, page, size)
            if flags & P_OVERFLOW:
                count = struct.unpack_from("<I", data, page * size + 12)[0]
                scope.append((page * size, (page + count) * size))
                continue
            scope.append((page * size, (page + 1) * size))
            if flags & P_LEAF2:
                continue
            for ptr in _pointers(data, page, size, lower):
                lo, hi, nflags, ksize = struct.unpack_from("<HHHH", data, page * size + ptr)
                if flags & P_BRANCH:
                    stack.append(lo | hi << 16 | nflags << 32)
                elif nflags & F_BIGDATA:
                    stack.append(struct.unpack_from("<Q", data, page * size + ptr + 8 + ksize)[0])
                elif nflags & F_SUBDATA:
                    stack.append(struct.unpack_from("<Q", data, page * size + ptr + 8 + ksize + 40)[0])
        return scope

    def walk(root: int, table: str, is_main: bool) -> None:
        stack, seen = [root], set()
        while stack:
            page = stack.pop()
            if page in seen or page == P_INVALID or page > last_pg:
                continue
            seen.add(page)
            base = page * size
            _, flags, lower, upper = _header(data, page, size)
            kind = "branch" if flags & P_BRANCH else "leaf"
            pages[page] = f"{kind}:{table}"
            page_scope = subtree_scope(page) if flags & P_BRANCH else [(base, base + size)]
            ranges.append(Range(base, base + max(lower, HEADER), f"page-header:{table}", table, page_scope))
            if flags & P_LEAF2:
                ranges.append(Range(base + upper, base + size, f"leaf-node:{table}", table, [(base + upper, base + size)]))
                continue
            for ptr in _pointers(data, page, size, lower):
                lo, hi, nflags, ksize = struct.unpack_from("<HHHH", data, base + ptr)
                node = base + ptr
                if flags & P_BRANCH:
                    child = lo | hi << 16 | nflags << 32
                    ranges.append(Range(node, node + 8 + ksize, f"branch-node:{table}", table, subtree_scope(child)))
                    stack.append(child)
                    continue
                dsize = lo | hi << 16
                key = data[node + 8: node + 8 + ksize]
                if nflags & F_BIGDATA:
                    overflow = struct.unpack_from("<Q", data, node + 8 + ksize)[0]
                    count = struct.unpack_from("<I", data, overflow * size + 12)[0] if overflow <= last_pg else 0
                    for extra in range(count):
                        pages[overflow + extra] = f"overflow:{table}"
                    value = (overflow * size, overflow * size + HEADER + dsize)
                    ranges.append(Range(node, node + 16 + ksize, f"leaf-node:{table}", table, [(node, node + 8 + ksize), value]))
                    ranges.append(Range(value[0], value[1], f"overflow:{table}", table, [(node, node + 8 + ksize), value]))
                elif nflags & F_SUBDATA:
                    sub_root = struct.unpack_from("<Q", data, node + 8 + ksize + 40)[0]
                    sub_table = key.decode("utf-8", "replace") if is_main and not nflags & F_DUPDATA else table
                    ranges.append(Range(node, node + 8 + ksize + dsize, f"subtree-root:{sub_table}", sub_table,
                                        [(node, node + 8 + ksize + dsize)] + subtree_scope(sub_root)))
                    walk(sub_root, sub_table, False)
                else:
                    ranges.append(Range(node, node + 8 + ksize + dsize, f"leaf-node:{table}", table, [(node, node + 8 + ksize + dsize)]))

    walk(struct.unpack_from("<Q", free_db, 40)[0], "free", False)
    walk(struct.unpack_from("<Q", main_db, 40)[0], "main", True)
    ranges = [r for r in ranges if r.end > r.start and r.end <= len(data)]
    ranges.sort(key=lambda r: r.start)
    return PageMap(size, last_pg, current, ranges, pages)


def _pointers(data: bytes, page: int, size: int, lower: int) -> list[int]:
    count = max(0, (lower - HEADER) // 2)
    count = min(count, (size - HEADER) // 2)
    return [p for p in struct.unpack_from(f"<{count}H", data, page * size + HEADER) if HEADER <= p < size]


def identifiers_in(data: bytes, scope: list[tuple[int, int]], index: dict[bytes, set[str]], width: int = 32) -> set[str]:
    """Every commit whose identifier (a 32-byte key of `index`) occurs in the bytes of `scope`."""
    found: set[str] = set()
    for start, end in scope:
        chunk = data[start:end]
        for offset in range(0, max(0, len(chunk) - width + 1)):
            hit = index.get(chunk[offset: offset + width])
            if hit:
                found |= hit
    return found
