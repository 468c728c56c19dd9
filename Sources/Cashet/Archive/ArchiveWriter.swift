import Crypto

/// Writes an archive (``ArchiveFormat``) through a 1 MiB buffer, hashing every byte for the end record.
struct ArchiveWriter: ~Copyable {
    private let file: PosixFile
    private var buffer: [UInt8] = []
    private var hasher = SHA256()
    private(set) var records = 0

    init(_ file: consuming PosixFile) throws(CashetError) {
        self.file = file
        buffer.reserveCapacity(1 << 20)
        try append(ArchiveFormat.magic + [ArchiveFormat.version])
    }

    /// Appends one record whose payload is `hash` followed by `body`.
    mutating func write(_ kind: ArchiveFormat.Kind, hash: ContentHash, _ body: [UInt8]) throws(CashetError) {
        var header = ByteWriter(capacity: 41)
        header.append(kind.rawValue)
        header.appendFixedLittleEndian(UInt64(ContentHash.byteCount + body.count))
        header.append(contentsOf: hash.bytes)
        try append(header.bytes)
        try append(body)
        records += 1
    }

    /// Writes the end record, flushes and fsyncs.
    consuming func finish() throws(CashetError) {
        let digest = ContentHash(digest: hasher.finalize())
        var end = ByteWriter(capacity: 49)
        end.append(ArchiveFormat.Kind.end.rawValue)
        end.appendFixedLittleEndian(UInt64(ArchiveFormat.endPayloadSize))
        end.appendFixedLittleEndian(UInt64(records))
        end.append(contentsOf: digest.bytes)
        buffer.append(contentsOf: end.bytes)
        try flush()
        try file.sync()
    }

    private mutating func append(_ bytes: [UInt8]) throws(CashetError) {
        hasher.update(data: bytes)
        if buffer.count + bytes.count > buffer.capacity { try flush() }
        if bytes.count >= buffer.capacity {
            try withContiguousBytes(of: bytes) { raw throws(CashetError) in try file.writeAll(raw) }
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    private mutating func flush() throws(CashetError) {
        try withContiguousBytes(of: buffer) { raw throws(CashetError) in try file.writeAll(raw) }
        buffer.removeAll(keepingCapacity: true)
    }
}
