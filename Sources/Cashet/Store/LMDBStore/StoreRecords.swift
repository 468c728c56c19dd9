import Foundation

/// Binary layouts of the LMDB store's keys and values (schema version 1).
///
/// Hand-written, versioned and length-checked: a record that does not parse is reported as
/// `.corruptData`, never half-read.
package enum StoreRecords {
    // MARK: Time keys

    /// Nanoseconds since 1970, sign-flipped big-endian so byte order is time order.
    static func timeBytes(_ date: Date) -> [UInt8] {
        var writer = ByteWriter(capacity: 8)
        writer.appendFixedBigEndian(UInt64(bitPattern: CanonicalCommit.nanoseconds(date)) ^ (1 << 63))
        return writer.bytes
    }

    static func date(fromTimeBytes bytes: ArraySlice<UInt8>) throws(CashetError) -> Date {
        var reader = ByteReader(Array(bytes), what: "time key")
        return CanonicalCommit.date(nanoseconds: Int64(bitPattern: try reader.readFixedBigEndian() ^ (1 << 63)))
    }

    /// `time(8) + commit hash(32)`: the value of every index that lists commits in time order.
    static func timeKey(_ date: Date, _ commit: ContentHash) -> [UInt8] { timeBytes(date) + commit.bytes }

    static func commitHash(fromTimeKey key: [UInt8]) throws(CashetError) -> ContentHash {
        guard key.count == 40 else { throw CashetError(.corruptData, "a time-ordered index entry has \(key.count) bytes, expected 40") }
        return try ContentHash(bytes: key[8..<40])
    }

    // MARK: Tags and names

    /// `key \0 value`: NUL cannot appear in either, so the pair is unambiguous.
    static func tagKey(_ key: String, _ value: String) -> [UInt8] { Array(key.utf8) + [0] + Array(value.utf8) }

    // MARK: Heads (the fingerprint index: everything a cache hit needs, in one read)

    static func encodeHead(_ head: CommitHead) -> [UInt8] {
        var w = ByteWriter(capacity: 96)
        w.append(contentsOf: head.commit.bytes)
        w.append(head.status == .completed ? 1 : 2)
        w.appendFixedLittleEndian(UInt64(bitPattern: CanonicalCommit.nanoseconds(head.createdAt)))
        w.appendOptionalHash(head.output?.hash)
        if let output = head.output { w.appendVarint(UInt64(output.size)) }
        return w.bytes
    }

    static func decodeHead(_ bytes: [UInt8]) throws(CashetError) -> CommitHead {
        var r = ByteReader(bytes, what: "fingerprint index entry")
        let commit = try ContentHash(bytes: try r.readBytes(32))
        let status = try r.readStatus(of: commit)
        let createdAt = CanonicalCommit.date(nanoseconds: Int64(bitPattern: try r.readFixedLittleEndian()))
        var output: ObjectRef?
        if let hash = try r.readOptionalHash() { output = ObjectRef(hash: hash, size: try r.readCount()) }
        return CommitHead(commit: commit, output: output, status: status, createdAt: createdAt)
    }

    // MARK: Blobs

    /// How a blob's bytes are kept: the first byte of its `blobs` table value.
    enum BlobEncoding: UInt8 {
        /// The bytes follow.
        case raw = 0
        /// A zstd frame of the bytes follows.
        case zstd = 1
        /// The bytes are in `objects/`: a codec byte and the XXH3-64 of the bytes follow.
        case file = 2
    }

    /// Where a blob's bytes are, decoded from its `blobs` table value.
    enum BlobLocation {
        case inline(BlobEncoding, ArraySlice<UInt8>)
        case file(BlobFiles.Codec, checksum: UInt64)
    }

    static func encodeFileBlob(_ staged: BlobFiles.Staged) -> [UInt8] {
        var w = ByteWriter(capacity: 10)
        w.append(BlobEncoding.file.rawValue)
        w.append(staged.codec.rawValue)
        w.appendFixedLittleEndian(staged.checksum)
        return w.bytes
    }

    static func decodeBlobLocation(_ stored: [UInt8], hash: ContentHash) throws(CashetError) -> BlobLocation {
        guard let first = stored.first, let encoding = BlobEncoding(rawValue: first) else {
            throw CashetError(.corruptData, "blob \(hash.hex) has an unknown encoding")
        }
        guard encoding == .file else { return .inline(encoding, stored[1...]) }
        var r = ByteReader(stored, what: "blob file record")
        _ = try r.readByte()
        guard let codec = BlobFiles.Codec(rawValue: try r.readByte()) else {
            throw CashetError(.corruptData, "blob \(hash.hex) names an unknown file codec")
        }
        return .file(codec, checksum: try r.readFixedLittleEndian())
    }

    /// Metadata of one blob: logical size, stored size, how many commits reference it.
    struct BlobInfo {
        var size: Int
        var storedSize: Int
        var references: Int

        var bytes: [UInt8] {
            var w = ByteWriter(capacity: 24)
            w.appendVarint(UInt64(size))
            w.appendVarint(UInt64(storedSize))
            w.appendVarint(UInt64(references))
            return w.bytes
        }

        init(size: Int, storedSize: Int, references: Int) {
            self.size = size
            self.storedSize = storedSize
            self.references = references
        }

        init(_ bytes: [UInt8]) throws(CashetError) {
            var r = ByteReader(bytes, what: "blob metadata")
            size = try r.readCount()
            storedSize = try r.readCount()
            references = try r.readCount()
            guard r.isAtEnd else { throw CashetError(.corruptData, "blob metadata has \(bytes.count - r.offset) bytes past its end") }
        }
    }

    // MARK: Counters (stats in O(1))

    struct Counters: Equatable {
        var commits = 0, completed = 0, failed = 0, functions = 0, blobs = 0, logicalBytes = 0, storedBytes = 0

        /// "3 functions (counted: 2), …": the fields that differ from `counted`.
        func differences(from counted: Counters) -> String {
            let fields: [(String, Int, Int)] = [
                ("commits", commits, counted.commits), ("completed", completed, counted.completed), ("failed", failed, counted.failed),
                ("functions", functions, counted.functions), ("blobs", blobs, counted.blobs), ("file blobs", fileBlobs, counted.fileBlobs),
                ("logical bytes", logicalBytes, counted.logicalBytes), ("stored bytes", storedBytes, counted.storedBytes),
            ]
            return fields.filter { $0.1 != $0.2 }.map { "\($0.1) \($0.0) (counted: \($0.2))" }.joined(separator: ", ")
        }
        /// Blobs kept as files in `objects/` (the rest are inline). Absent in records written before files existed.
        var fileBlobs = 0

        var bytes: [UInt8] {
            var w = ByteWriter(capacity: 64)
            for value in [commits, completed, failed, functions, blobs, logicalBytes, storedBytes, fileBlobs] {
                w.appendFixedLittleEndian(UInt64(bitPattern: Int64(value)))
            }
            return w.bytes
        }

        init() {}

        init(_ bytes: [UInt8]) throws(CashetError) {
            var r = ByteReader(bytes, what: "store counters")
            var values: [Int] = []
            while values.count < 8 && (values.count < 7 || !r.isAtEnd) {
                values.append(Int(Int64(bitPattern: try r.readFixedLittleEndian())))
            }
            if values.count == 7 { values.append(0) }
            (commits, completed, failed, functions, blobs, logicalBytes, storedBytes, fileBlobs) =
                (values[0], values[1], values[2], values[3], values[4], values[5], values[6], values[7])
        }

        mutating func count(_ status: CommitStatus, _ delta: Int) {
            commits += delta
            if status == .completed { completed += delta } else { failed += delta }
        }

        /// Adds (`delta` +1) or removes (-1) one blob with this metadata.
        mutating func count(_ blob: BlobInfo, inFile: Bool, _ delta: Int) {
            blobs += delta
            logicalBytes += delta * blob.size
            storedBytes += delta * blob.storedSize
            if inFile { fileBlobs += delta }
        }
    }
}
