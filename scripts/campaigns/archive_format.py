"""The cashet archive (Sources/Cashet/Archive/ArchiveFormat.swift) and the records it carries
(Sources/Cashet/Store/LMDBStore/StoreRecords.swift, varints of Sources/Cashet/BinaryFormat/ByteWriter.swift),
read and written in Python so import_mutation.py can build archives that are valid except for
one thing.

    "CASHETAR" version(1)
    record*: kind(1) length(8 LE) payload   (payload = hash(32) body)
      1 function: body = version(1) string name, string version, source? (flag byte, string)
      2 commit:   body = the LMDB commit record; hash = SHA-256(body)
      3 blob:     body = size(8 LE) zstd frame; hash = SHA-256 of the bytes
    end: kind 0xFF, length 40, record count(8 LE), SHA-256 of every byte before the end record

A string is a LEB128 varint length and UTF-8 bytes. Commit record: version(1) fingerprint(64)
parent? (flag byte, hash 32) status(1: 1 completed, 2 failed) created_at(8 LE, ns) output?
(flag byte, hash 32, varint size) string name, string version, string args, cacheable(1),
error? (flag byte, string), varint tag count, (string key, string value)*.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field

MAGIC = b"CASHETAR"
VERSION = 1
FUNCTION, COMMIT, BLOB, END = 1, 2, 3, 0xFF


@dataclass
class Record:
    kind: int
    hash: bytes
    body: bytes

    def payload(self) -> bytes:
        return self.hash + self.body

    def encode(self) -> bytes:
        return bytes([self.kind]) + struct.pack("<Q", len(self.hash) + len(self.body)) + self.hash + self.body


@dataclass
class Archive:
    records: list[Record]
    version: int = VERSION

    @staticmethod
    def parse(data: bytes) -> "Archive":
        if data[:8] != MAGIC:
            raise ValueError("not an archive")
        position, records = 9, []
        while position < len(data):
            kind = data[position]
            length = struct.unpack_from("<Q", data, position + 1)[0]
            payload = data[position + 9: position + 9 + length]
            position += 9 + length
            if kind == END:
                break
            records.append(Record(kind, payload[:32], payload[32:]))
        return Archive(records, data[8])

    def encode(self, count: int | None = None, checksum: bytes | None = None) -> bytes:
        """The archive with a correct end record (or the given count / checksum)."""
        out = bytearray(MAGIC + bytes([self.version]))
        for record in self.records:
            out += record.encode()
        digest = checksum if checksum is not None else hashlib.sha256(out).digest()
        out += bytes([END]) + struct.pack("<Q", 40) + struct.pack("<Q", len(self.records) if count is None else count) + digest
        return bytes(out)

    def commits(self) -> list[int]:
        return [i for i, r in enumerate(self.records) if r.kind == COMMIT]


# MARK: varints and fields


def varint(value: int, extra: int = 0) -> bytes:
    """LEB128; with `extra`, the same value in `extra` more bytes (non-canonical: continuation
    bits on zero groups, still decoding to `value`)."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value == 0 and extra == 0:
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)
        if value == 0:
            extra -= 1
            # pad: 0x80 … then a final 0x00
            out += b"\x80" * extra + b"\x00"
            return bytes(out)


class Reader:
    def __init__(self, data: bytes):
        self.data, self.offset = data, 0

    def byte(self) -> int:
        value = self.data[self.offset]
        self.offset += 1
        return value

    def take(self, count: int) -> bytes:
        value = self.data[self.offset: self.offset + count]
        if len(value) != count:
            raise ValueError("truncated")
        self.offset += count
        return value

    def varint(self) -> int:
        result, shift = 0, 0
        while True:
            byte = self.byte()
            result |= (byte & 0x7F) << shift
            if byte < 0x80:
                return result
            shift += 7

    def string(self) -> bytes:
        return self.take(self.varint())


@dataclass
class Field:
    """One piece of a record: a fixed byte string, a varint, or a string (varint length + bytes)."""
    name: str
    kind: str            # "raw", "varint", "string"
    value: object
    extra: int = 0       # non-canonical padding of this varint / string length

    def encode(self) -> bytes:
        if self.kind == "raw":
            return self.value
        if self.kind == "varint":
            return varint(self.value, self.extra)
        return varint(len(self.value), self.extra) + self.value


@dataclass
class Fields:
    fields: list[Field] = field(default_factory=list)

    def encode(self) -> bytes:
        return b"".join(f.encode() for f in self.fields)

    def get(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    def varints(self) -> list[Field]:
        """The fields whose encoding holds a varint (sizes, counts, string lengths)."""
        return [f for f in self.fields if f.kind in ("varint", "string")]


def decode_commit(body: bytes) -> Fields:
    r, out = Reader(body), Fields()

    def raw(name, count):
        out.fields.append(Field(name, "raw", r.take(count)))

    raw("version", 1)
    raw("fingerprint", 64)
    flag = r.byte()
    out.fields.append(Field("parent", "raw", bytes([flag]) + (r.take(32) if flag == 1 else b"")))
    raw("status", 1)
    raw("created_at", 8)
    flag = r.byte()
    out.fields.append(Field("output", "raw", bytes([flag]) + (r.take(32) if flag == 1 else b"")))
    if flag == 1:
        out.fields.append(Field("output_size", "varint", r.varint()))
    for name in ("name", "function_version", "args"):
        out.fields.append(Field(name, "string", r.string()))
    raw("cacheable", 1)
    flag = r.byte()
    out.fields.append(Field("error_flag", "raw", bytes([flag])))
    if flag == 1:
        out.fields.append(Field("error", "string", r.string()))
    count = r.varint()
    out.fields.append(Field("tag_count", "varint", count))
    for index in range(count):
        out.fields.append(Field(f"tag_key_{index}", "string", r.string()))
        out.fields.append(Field(f"tag_value_{index}", "string", r.string()))
    if r.offset != len(body):
        raise ValueError("trailing bytes in a commit record")
    return out


def decode_function(body: bytes) -> Fields:
    r, out = Reader(body), Fields()
    out.fields.append(Field("version", "raw", r.take(1)))
    out.fields.append(Field("name", "string", r.string()))
    out.fields.append(Field("function_version", "string", r.string()))
    flag = r.byte()
    out.fields.append(Field("source_flag", "raw", bytes([flag])))
    if flag == 1:
        out.fields.append(Field("source", "string", r.string()))
    # The identity manifest, when the function was built with the plugin: a 1, its hash, its lines.
    if r.offset != len(body):
        out.fields.append(Field("manifest_flag", "raw", r.take(1)))
        out.fields.append(Field("manifest_hash", "string", r.string()))
        out.fields.append(Field("manifest", "string", r.string()))
    if r.offset != len(body):
        raise ValueError("trailing bytes in a function record")
    return out


def manifest_json(fields: "Fields") -> dict | None:
    """A function record's manifest as `show --json` prints it under `identity`, or None."""
    if not any(field.name == "manifest" for field in fields.fields):
        return None
    helpers, dependencies, ignored = [], [], []
    for line in fields.get("manifest").value.decode().split("\n"):
        parts = line.split("\t")
        if parts[0] == "helper":
            helpers.append({"module": parts[1], "kind": parts[2], "signature": parts[3], "file": parts[4], "line": int(parts[5]), "hash": parts[6]})
        elif parts[0] == "dependency":
            dependencies.append({"package": parts[1], "version": parts[2], "revision": parts[3]})
        elif parts[0] == "ignored":
            ignored.append(parts[1])
    return {"hash": fields.get("manifest_hash").value.decode(), "helpers": helpers, "dependencies": dependencies, "ignored_dependencies": ignored}


def encode_function(name: bytes, version: bytes, source: bytes | None) -> bytes:
    out = bytes([1]) + varint(len(name)) + name + varint(len(version)) + version
    return out + (b"\x00" if source is None else b"\x01" + varint(len(source)) + source)


def commit_record(fields: Fields) -> Record:
    body = fields.encode()
    return Record(COMMIT, hashlib.sha256(body).digest(), body)
