import Crypto

/// Reads an archive (``ArchiveFormat``) record by record through a 1 MiB buffer, hashing what it
/// reads. Every length is checked against the bytes left in the file before anything is
/// allocated, so a hostile length cannot exhaust memory.
struct ArchiveReader: ~Copyable {
    /// One record: its kind, the hash it names, and the rest of its payload.
    struct Record {
        let kind: ArchiveFormat.Kind
        let hash: ContentHash
        let body: [UInt8]
    }

    let path: String
    private let file: PosixFile
    private var remaining: Int
    private var buffer: [UInt8] = []
    private var position = 0
    private var hasher = SHA256()
    private(set) var records = 0
    /// Set once the end record has been read and matched the file.
    private(set) var verified = false

    /// Reads `file` (a regular file of `size` bytes, positioned at its start) and checks the header.
    init(_ file: consuming PosixFile, path: String, size: Int) throws(CashetError) {
        self.init(file: file, path: path, size: size)
        let header = try read(ArchiveFormat.headerSize, what: "header")
        guard Array(header.prefix(8)) == ArchiveFormat.magic else {
            throw CashetError(.damagedArchive, "\(path) is not a cashet archive (it does not start with CASHETAR)")
        }
        guard header[8] == ArchiveFormat.version else {
            throw CashetError(.damagedArchive, "\(path) is a cashet archive of version \(header[8]); this cashet reads version \(ArchiveFormat.version)")
        }
    }

    private init(file: consuming PosixFile, path: String, size: Int) {
        self.file = file
        self.path = path
        self.size = size
        remaining = size
    }

    /// The next record, or nil after the end record (which is checked: record count, SHA-256
    /// of the whole file, nothing after it).
    mutating func next() throws(CashetError) -> Record? {
        guard !verified else { return nil }
        let digestSoFar = ContentHash(digest: hasher.finalize())
        let header = try read(ArchiveFormat.recordHeaderSize, what: "record header")
        var reader = ByteReader(header, what: "archive record header")
        let kindByte = try reader.readByte()
        let length = try reader.readFixedLittleEndian()
        guard let kind = ArchiveFormat.Kind(rawValue: kindByte) else {
            throw damaged("record \(records + 1) has an unknown kind \(kindByte)")
        }
        guard length >= UInt64(ContentHash.byteCount), length <= UInt64(bytesLeft) else {
            throw damaged("record \(records + 1) claims \(length) bytes, but \(bytesLeft) are left")
        }
        let payload = try read(Int(length), what: "record \(records + 1)")
        if kind == .end {
            var end = ByteReader(payload, what: "archive end record")
            let count = try end.readFixedLittleEndian()
            let digest = try ContentHash(bytes: try end.readBytes(32))
            guard length == UInt64(ArchiveFormat.endPayloadSize), count == UInt64(records), digest == digestSoFar else {
                throw damaged("its checksum or record count does not match its contents")
            }
            guard bytesLeft == 0 else { throw damaged("it has \(bytesLeft) bytes after its end record") }
            verified = true
            return nil
        }
        records += 1
        return Record(kind: kind, hash: try ContentHash(bytes: payload.prefix(32)), body: Array(payload.dropFirst(32)))
    }

    /// An error naming the archive: it is damaged (truncated, altered, or not written by cashet).
    func damaged(_ detail: String) -> CashetError {
        CashetError(.damagedArchive, "the archive \(path) is damaged: \(detail); nothing was imported")
    }

    /// The archive's size in bytes.
    let size: Int
    /// Bytes consumed so far.
    var bytesRead: Int { size - bytesLeft }

    /// Bytes not yet read: in the file, and in the buffer.
    private var bytesLeft: Int { remaining + buffer.count - position }

    private mutating func read(_ count: Int, what: String) throws(CashetError) -> [UInt8] {
        guard count <= bytesLeft else { throw damaged("it ends inside its \(what)") }
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count {
            if position == buffer.count { try refill() }
            let take = min(count - out.count, buffer.count - position)
            out.append(contentsOf: buffer[position..<position + take])
            position += take
        }
        hasher.update(data: out)
        return out
    }

    private mutating func refill() throws(CashetError) {
        let size = min(1 << 20, remaining)
        guard size > 0 else { throw damaged("it ends early") }
        buffer = [UInt8](repeating: 0, count: size)
        let got = try file.readFully(into: &buffer)
        guard got == size else { throw damaged("it became shorter while being read") }
        remaining -= size
        position = 0
    }
}
