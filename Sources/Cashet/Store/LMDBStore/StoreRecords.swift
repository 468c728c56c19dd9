import Foundation

/// Binary layouts of the LMDB store's keys and values (schema version 1).
///
/// Hand-written, versioned and length-checked: a record that does not parse is reported as
/// `.corruptData`, never half-read.
package enum StoreRecords {
    static let recordVersion: UInt8 = 1

    // MARK: Time keys

    /// Nanoseconds since 1970, sign-flipped big-endian so byte order is time order.
    static func timeBytes(_ date: Date) -> [UInt8] {
        var writer = ByteWriter(capacity: 8)
        writer.appendFixedBigEndian(UInt64(bitPattern: nanoseconds(date)) ^ (1 << 63))
        return writer.bytes
    }

    static func date(fromTimeBytes bytes: ArraySlice<UInt8>) throws(CashetError) -> Date {
        var reader = ByteReader(Array(bytes), what: "time key")
        return date(nanoseconds: Int64(bitPattern: try reader.readFixedBigEndian() ^ (1 << 63)))
    }

    /// `time(8) + commit hash(32)`: the value of every index that lists commits in time order.
    static func timeKey(_ date: Date, _ commit: ContentHash) -> [UInt8] { timeBytes(date) + commit.bytes }

    static func commitHash(fromTimeKey key: [UInt8]) throws(CashetError) -> ContentHash {
        guard key.count == 40 else { throw CashetError(.corruptData, "a time-ordered index entry has \(key.count) bytes, expected 40") }
        return try ContentHash(bytes: key[8..<40])
    }

    /// Dates beyond ±292 years of 1970 (`Date.distantPast`, for one) clamp to the ends of the range.
    package static func nanoseconds(_ date: Date) -> Int64 {
        let nanoseconds = (date.timeIntervalSince1970 * 1_000_000_000).rounded()
        if nanoseconds.isNaN { return 0 }
        if nanoseconds >= 9.2e18 { return .max }
        if nanoseconds <= -9.2e18 { return .min }
        return Int64(nanoseconds)
    }

    package static func date(nanoseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(nanoseconds) / 1_000_000_000)
    }

    /// The date a record will decode to (stored at nanosecond resolution).
    package static func normalized(_ date: Date) -> Date { self.date(nanoseconds: nanoseconds(date)) }

    // MARK: Tags and names

    /// `key \0 value`: NUL cannot appear in either, so the pair is unambiguous.
    static func tagKey(_ key: String, _ value: String) -> [UInt8] { Array(key.utf8) + [0] + Array(value.utf8) }

    // MARK: Commits

    package static func encodeCommit(_ draft: CommitDraft, output: ObjectRef?, parent: ContentHash?) -> [UInt8] {
        var w = ByteWriter(capacity: 256)
        w.append(recordVersion)
        w.append(contentsOf: draft.fingerprint.bytes)
        appendOptionalHash(parent, to: &w)
        w.append(draft.status == .completed ? 1 : 2)
        w.appendFixedLittleEndian(UInt64(bitPattern: nanoseconds(draft.createdAt)))
        appendOptionalHash(output?.hash, to: &w)
        if let output { w.appendVarint(UInt64(output.size)) }
        w.appendString(draft.task.functionName)
        w.appendString(draft.task.functionVersion)
        w.appendString(draft.task.argumentsSnapshot)
        w.append(draft.task.cacheable ? 1 : 0)
        w.append(draft.error == nil ? 0 : 1)
        if let error = draft.error { w.appendString(error) }
        w.appendVarint(UInt64(draft.tags.count))
        for (key, value) in draft.tags.sorted(by: { $0.key < $1.key }) {
            w.appendString(key)
            w.appendString(value)
        }
        return w.bytes
    }

    /// Decodes a commit record read back from a store, after checking that it hashes to its name:
    /// a record altered on disk (or by a peer of a shared store) decodes fine, so without the
    /// check it would be served as if it were the commit.
    package static func decodeVerifiedCommit(hash: ContentHash, _ bytes: [UInt8], source: String?) throws(CashetError) -> Commit {
        guard SHA256Hasher.hash(bytes) == hash else {
            throw CashetError(.corruptData, "commit \(hash.hex) is damaged: its record does not hash to its name (altered); `cashet fsck --repair` removes it")
        }
        return try decodeCommit(hash: hash, bytes, source: source)
    }

    /// Decodes a commit record; `source` comes from the function table (stored once per function).
    package static func decodeCommit(hash: ContentHash, _ bytes: [UInt8], source: String?) throws(CashetError) -> Commit {
        do {
            return try decodeCommitRecord(hash: hash, bytes, source: source)
        } catch {
            throw CashetError(.corruptData, "commit \(hash.hex) cannot be read: \(error.message)")
        }
    }

    private static func decodeCommitRecord(hash: ContentHash, _ bytes: [UInt8], source: String?) throws(CashetError) -> Commit {
        var r = ByteReader(bytes, what: "commit record")
        let version = try r.readByte()
        guard version == recordVersion else {
            throw CashetError(.corruptData, "commit \(hash.shortHex) has record version \(version), expected \(recordVersion)")
        }
        let fingerprint = try Fingerprint(bytes: try r.readBytes(64))
        let parent = try readOptionalHash(&r)
        let status = try readStatus(&r, commit: hash)
        let createdAt = date(nanoseconds: Int64(bitPattern: try r.readFixedLittleEndian()))
        var output: ObjectRef?
        if let outputHash = try readOptionalHash(&r) {
            output = ObjectRef(hash: outputHash, size: try r.readCount())
        }
        let name = try r.readString()
        let functionVersion = try r.readString()
        let snapshot = try r.readString()
        let cacheable = try r.readByte() == 1
        let error: String? = try r.readByte() == 1 ? try r.readString() : nil
        var tags: [String: String] = [:]
        for _ in 0..<(try r.readLength()) {
            let key = try r.readString()
            tags[key] = try r.readString()
        }
        guard r.isAtEnd else { throw CashetError(.corruptData, "commit \(hash.shortHex) has trailing bytes") }
        let task = TaskDefinition(functionName: name, functionHash: fingerprint.functionHash, functionVersion: functionVersion, source: source, argumentsSnapshot: snapshot, cacheable: cacheable)
        return Commit(hash: hash, fingerprint: fingerprint, task: task, output: output, status: status, error: error, createdAt: createdAt, tags: tags, parent: parent)
    }

    // MARK: Heads (the fingerprint index: everything a cache hit needs, in one read)

    static func encodeHead(_ head: CommitHead) -> [UInt8] {
        var w = ByteWriter(capacity: 96)
        w.append(contentsOf: head.commit.bytes)
        w.append(head.status == .completed ? 1 : 2)
        w.appendFixedLittleEndian(UInt64(bitPattern: nanoseconds(head.createdAt)))
        appendOptionalHash(head.output?.hash, to: &w)
        if let output = head.output { w.appendVarint(UInt64(output.size)) }
        return w.bytes
    }

    static func decodeHead(_ bytes: [UInt8]) throws(CashetError) -> CommitHead {
        var r = ByteReader(bytes, what: "fingerprint index entry")
        let commit = try ContentHash(bytes: try r.readBytes(32))
        let status = try readStatus(&r, commit: commit)
        let createdAt = date(nanoseconds: Int64(bitPattern: try r.readFixedLittleEndian()))
        var output: ObjectRef?
        if let hash = try readOptionalHash(&r) { output = ObjectRef(hash: hash, size: try r.readCount()) }
        return CommitHead(commit: commit, output: output, status: status, createdAt: createdAt)
    }

    // MARK: Functions (source stored once per identity)

    package static func encodeFunction(_ task: TaskDefinition) -> [UInt8] {
        encodeFunction(name: task.functionName, version: task.functionVersion, source: task.source)
    }

    private static func encodeFunction(name: String, version: String, source: String?) -> [UInt8] {
        var w = ByteWriter(capacity: 64 + (source?.utf8.count ?? 0))
        w.append(recordVersion)
        w.appendString(name)
        w.appendString(version)
        w.append(source == nil ? 0 : 1)
        if let source { w.appendString(source) }
        return w.bytes
    }

    /// Decodes a function record that must be exactly what ``encodeFunction(_:)`` writes (an
    /// archive's: a non-canonical or trailing byte is refused).
    package static func decodeCanonicalFunction(_ bytes: [UInt8]) throws(CashetError) -> (name: String, version: String, source: String?) {
        var r = ByteReader(bytes, what: "function record")
        let version = try r.readByte()
        guard version == recordVersion else { throw CashetError(.corruptData, "a function record has version \(version), expected \(recordVersion)") }
        let name = try r.readString()
        let functionVersion = try r.readString()
        let source: String? = try r.readByte() == 1 ? try r.readString() : nil
        guard r.isAtEnd, encodeFunction(name: name, version: functionVersion, source: source) == bytes else {
            throw CashetError(.corruptData, "the function record of '\(name.prefix(40))' is not in canonical form")
        }
        return (name, functionVersion, source)
    }

    /// The record a store writes for `commit`, after checking the limits every store enforces and
    /// that it hashes to the commit's hash (so a non-canonical encoding is refused).
    package static func importableRecord(of commit: Commit) throws(CashetError) -> [UInt8] {
        let draft = commit.draft
        try draft.validate()
        let record = encodeCommit(draft, output: commit.output, parent: commit.parent)
        guard SHA256Hasher.hash(record) == commit.hash else {
            throw CashetError(.corruptData, "commit \(commit.hash.shortHex) does not match its hash (altered, or not in canonical form)")
        }
        return record
    }

    package static func decodeFunctionSource(_ bytes: [UInt8]) throws(CashetError) -> String? {
        var r = ByteReader(bytes, what: "function record")
        _ = try r.readByte()
        _ = try r.readString()
        _ = try r.readString()
        return try r.readByte() == 1 ? try r.readString() : nil
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

    // MARK: Helpers

    private static func appendOptionalHash(_ hash: ContentHash?, to w: inout ByteWriter) {
        if let hash {
            w.append(1)
            w.append(contentsOf: hash.bytes)
        } else {
            w.append(0)
        }
    }

    private static func readOptionalHash(_ r: inout ByteReader) throws(CashetError) -> ContentHash? {
        try r.readByte() == 1 ? try ContentHash(bytes: try r.readBytes(32)) : nil
    }

    private static func readStatus(_ r: inout ByteReader, commit: ContentHash) throws(CashetError) -> CommitStatus {
        switch try r.readByte() {
        case 1: return .completed
        case 2: return .failed
        case let other: throw CashetError(.corruptData, "commit \(commit.shortHex) has unknown status \(other)")
        }
    }
}
