import Foundation

/// The function fields a schema-2 row leaves out: kept once per function, in the `functions`
/// table, and given back when a row is expanded.
struct FunctionFields: Equatable, Sendable {
    let hash: ContentHash
    let name: String
    let version: String
    /// Not part of any commit's record (so of no hash); joined to the commits it expands.
    let details: FunctionDetails
}

/// A commit as schema 2 keeps it (the head of its call in `calls`, a superseded commit in
/// `history`): the fields of its canonical record that neither the row's key (function and
/// arguments hash) nor its function's record (name, version) gives, with small results inline.
///
/// ``expand(function:argumentsHash:verify:)`` rebuilds the canonical record byte for byte
/// (``CanonicalCommit/encodeCommit(_:output:parent:)``) and checks it hashes to the stored commit
/// hash, so every hash a user has seen keeps naming the same commit.
///
/// Layout (integers little-endian, varints LEB128):
/// ```
/// flags u8   bits 0-1 result (0 none, 1 inline, 2 inline zstd, 3 blob) · 2 failed · 3 not cacheable
///            · 4 tags · 5 error · 6 parent · 7 overrides byte follows
/// [overrides u8]  bit 0 name · bit 1 version (when they differ from the function's)
/// commit hash [32] · created ns i64
/// result: inline: hash [32], varint size, bytes | zstd: hash [32], varint size, varint length, frame
///         | blob: hash [32], varint size   (an inline result's hash is kept: a hit would otherwise pay its SHA-256)
/// snapshot: varint length, UTF-8
/// [tags: varint count, then key and value (varint length, UTF-8) each, in key order]
/// [parent [32]] [error: varint, UTF-8] [name: varint, UTF-8] [version: varint, UTF-8]
/// ```
struct CallRow: Equatable, Sendable {
    enum Result: Equatable, Sendable {
        /// A failed commit.
        case none
        /// The result's bytes, kept in the row (a hit reads one tree).
        case inline([UInt8])
        /// The result zstd-compressed in the row.
        case inlineCompressed(size: Int, frame: [UInt8])
        /// A result kept in `blobs` (or its file).
        case blob(ObjectRef)
    }

    var commit: ContentHash
    var status: CommitStatus
    var cacheable: Bool
    var createdAt: Int64
    var result: Result
    /// The SHA-256 of an inline result (nil for a blob result or none): part of the commit's
    /// record, so the commit hash covers it; the bytes are checked against it by `fsck` and
    /// `verifyOnLoad`, as a `blobs` row's are.
    var inlineHash: ContentHash?
    var snapshot: String
    /// The tags (kept in key order).
    var tags: [String: String]
    var parent: ContentHash?
    var error: String?
    /// The commit's function name and version, when they differ from its function's record.
    var name: String?
    var version: String?

    private enum Flag {
        static let failed: UInt8 = 1 << 2, notCacheable: UInt8 = 1 << 3, tags: UInt8 = 1 << 4
        static let error: UInt8 = 1 << 5, parent: UInt8 = 1 << 6, overrides: UInt8 = 1 << 7
        static let name: UInt8 = 1 << 0, version: UInt8 = 1 << 1
    }

    /// The row of `commit` (whose fingerprint is the row's key), with its result as the store keeps it.
    init(_ commit: Commit, result: Result, function: FunctionFields) {
        self.commit = commit.hash
        status = commit.status
        cacheable = commit.task.cacheable
        createdAt = CanonicalCommit.nanoseconds(commit.createdAt)
        self.result = result
        switch result {
        case .inline(let bytes): inlineHash = commit.output?.hash ?? SHA256Hasher.hash(bytes)
        case .inlineCompressed: inlineHash = commit.output?.hash
        case .none, .blob: inlineHash = nil
        }
        snapshot = commit.task.argumentsSnapshot
        tags = commit.tags
        parent = commit.parent
        error = commit.error
        name = commit.task.functionName == function.name ? nil : commit.task.functionName
        version = commit.task.functionVersion == function.version ? nil : commit.task.functionVersion
    }

    // MARK: Encoding

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 96 + snapshot.utf8.count + resultBytes)
        var flags: UInt8
        switch result {
        case .none: flags = 0
        case .inline: flags = 1
        case .inlineCompressed: flags = 2
        case .blob: flags = 3
        }
        if status == .failed { flags |= Flag.failed }
        if !cacheable { flags |= Flag.notCacheable }
        if !tags.isEmpty { flags |= Flag.tags }
        if error != nil { flags |= Flag.error }
        if parent != nil { flags |= Flag.parent }
        let overrides = (name == nil ? 0 : Flag.name) | (version == nil ? 0 : Flag.version)
        if overrides != 0 { flags |= Flag.overrides }
        w.append(flags)
        if overrides != 0 { w.append(overrides) }
        w.append(contentsOf: commit.bytes)
        w.appendFixedLittleEndian(UInt64(bitPattern: createdAt))
        switch result {
        case .none: break
        case .inline(let bytes):
            w.append(contentsOf: (inlineHash ?? SHA256Hasher.hash(bytes)).bytes)
            w.appendLengthPrefixed(bytes)
        case .inlineCompressed(let size, let frame):
            w.append(contentsOf: (inlineHash ?? SHA256Hasher.hash([])).bytes)
            w.appendVarint(UInt64(size))
            w.appendLengthPrefixed(frame)
        case .blob(let ref):
            w.append(contentsOf: ref.hash.bytes)
            w.appendVarint(UInt64(ref.size))
        }
        w.appendString(snapshot)
        if !tags.isEmpty {
            w.appendVarint(UInt64(tags.count))
            for tag in tags.sorted(by: { $0.key < $1.key }) {
                w.appendString(tag.key)
                w.appendString(tag.value)
            }
        }
        if let parent { w.append(contentsOf: parent.bytes) }
        if let error { w.appendString(error) }
        if let name { w.appendString(name) }
        if let version { w.appendString(version) }
        return w.bytes
    }

    private var resultBytes: Int {
        switch result {
        case .none, .blob: 0
        case .inline(let bytes): bytes.count
        case .inlineCompressed(_, let frame): frame.count
        }
    }

    /// Decodes a row, refusing unknown flags, impossible sizes and trailing bytes.
    init(decoding bytes: [UInt8]) throws(CashetError) {
        var r = ByteReader(bytes, what: "call row")
        let flags = try r.readByte()
        let overrides = flags & Flag.overrides != 0 ? try r.readByte() : 0
        guard overrides & ~(Flag.name | Flag.version) == 0, flags & Flag.overrides == 0 || overrides != 0 else {
            throw CashetError(.corruptData, "a call row has unknown override flags 0x\(String(overrides, radix: 16))")
        }
        commit = try ContentHash(bytes: try r.readBytes(ContentHash.byteCount))
        status = flags & Flag.failed != 0 ? .failed : .completed
        cacheable = flags & Flag.notCacheable == 0
        createdAt = Int64(bitPattern: try r.readFixedLittleEndian())
        inlineHash = nil
        switch flags & 3 {
        case 0: result = .none
        case 1:
            inlineHash = try ContentHash(bytes: try r.readBytes(ContentHash.byteCount))
            result = .inline(try r.readLengthPrefixed())
        case 2:
            inlineHash = try ContentHash(bytes: try r.readBytes(ContentHash.byteCount))
            let size = try r.readCount()
            result = .inlineCompressed(size: size, frame: try r.readLengthPrefixed())
        default:
            let hash = try ContentHash(bytes: try r.readBytes(ContentHash.byteCount))
            result = .blob(ObjectRef(hash: hash, size: try r.readCount()))
        }
        guard (status == .failed) == (result == .none) else {
            throw CashetError(.corruptData, "call row of commit \(commit.shortHex) is \(status.rawValue) but \(result == .none ? "has no result" : "has a result")")
        }
        snapshot = try r.readString()
        tags = [:]
        if flags & Flag.tags != 0 {
            var previous: String?
            for _ in 0..<(try r.readLength()) {
                let key = try r.readString()
                guard previous.map({ $0 < key }) ?? true else { throw CashetError(.corruptData, "call row of commit \(commit.shortHex) has tags out of order") }
                tags[key] = try r.readString()
                previous = key
            }
        }
        parent = flags & Flag.parent != 0 ? try ContentHash(bytes: try r.readBytes(ContentHash.byteCount)) : nil
        error = flags & Flag.error != 0 ? try r.readString() : nil
        name = overrides & Flag.name != 0 ? try r.readString() : nil
        version = overrides & Flag.version != 0 ? try r.readString() : nil
        guard r.isAtEnd else { throw CashetError(.corruptData, "call row of commit \(commit.shortHex) has trailing bytes") }
    }

    /// What a hit needs, read from the front of an encoded row without decoding the rest: the
    /// head, and an inline result's bytes (whose SHA-256 is the head's output hash).
    static func head(ofEncoded bytes: [UInt8]) throws(CashetError) -> (head: CommitHead, inline: [UInt8]?) {
        var r = ByteReader(bytes, what: "call row")
        let flags = try r.readByte()
        if flags & Flag.overrides != 0 { _ = try r.readByte() }
        let commit = try ContentHash(bytes: try r.readBytes(ContentHash.byteCount))
        let createdAt = CanonicalCommit.date(nanoseconds: Int64(bitPattern: try r.readFixedLittleEndian()))
        let status: CommitStatus = flags & Flag.failed != 0 ? .failed : .completed
        var output: ObjectRef?, inline: [UInt8]?
        switch flags & 3 {
        case 0: break
        case 1:
            let hash = try ContentHash(bytes: try r.readBytes(ContentHash.byteCount))
            let bytes = try r.readLengthPrefixed()
            (output, inline) = (ObjectRef(hash: hash, size: bytes.count), bytes)
        case 2:
            let hash = try ContentHash(bytes: try r.readBytes(ContentHash.byteCount))
            let size = try r.readCount()
            let bytes = try Zstd.decompress(try r.readLengthPrefixed()[...], expectedSize: size)
            (output, inline) = (ObjectRef(hash: hash, size: size), bytes)
        default:
            output = ObjectRef(hash: try ContentHash(bytes: try r.readBytes(ContentHash.byteCount)), size: try r.readCount())
        }
        guard (status == .failed) == (output == nil) else {
            throw CashetError(.corruptData, "call row of commit \(commit.shortHex) is \(status.rawValue) but \(output == nil ? "has no result" : "has a result")")
        }
        return (CommitHead(commit: commit, output: output, status: status, createdAt: createdAt), inline)
    }

    // MARK: Expansion

    /// The result's reference (an inline result's hash as the row keeps it).
    func outputRef() throws(CashetError) -> ObjectRef? {
        switch result {
        case .none: return nil
        case .inline(let bytes): return ObjectRef(hash: inlineHash ?? SHA256Hasher.hash(bytes), size: bytes.count)
        case .inlineCompressed(let size, let frame):
            if let inlineHash { return ObjectRef(hash: inlineHash, size: size) }
            return ObjectRef(hash: SHA256Hasher.hash(try Zstd.decompress(frame[...], expectedSize: size)), size: size)
        case .blob(let ref): return ref
        }
    }

    /// Whether an inline result's bytes hash to the hash the row keeps (true for other results).
    var inlineResultIsIntact: Bool {
        switch result {
        case .inline(let bytes): return inlineHash == SHA256Hasher.hash(bytes)
        case .inlineCompressed(let size, let frame):
            return (try? Zstd.decompress(frame[...], expectedSize: size)).map { SHA256Hasher.hash($0) == inlineHash } ?? false
        case .none, .blob: return true
        }
    }

    /// The commit and its canonical record, rebuilt from this row, its key and its function's
    /// record. With `verify`, throws `.corruptData` when the rebuilt record does not hash to the
    /// stored commit hash (a removal, which only needs the commit's rows, does not ask).
    func expand(function: FunctionFields, argumentsHash: ContentHash, verify: Bool = true) throws(CashetError) -> PlannedCommit {
        let task = TaskDefinition(functionName: name ?? function.name, functionHash: function.hash, functionVersion: version ?? function.version,
                                  source: function.details.source, identityManifest: function.details.manifest, argumentsSnapshot: snapshot, cacheable: cacheable)
        let draft = CommitDraft(fingerprint: Fingerprint(functionHash: function.hash, argumentsHash: argumentsHash), task: task,
                                status: status, error: error, createdAt: CanonicalCommit.date(nanoseconds: createdAt), tags: tags)
        let output = try outputRef()
        let record = CanonicalCommit.encodeCommit(draft, output: output, parent: parent)
        guard !verify || SHA256Hasher.hash(record) == commit else {
            throw CashetError(.corruptData, "call row of commit \(commit.hex) does not rebuild the record of that hash (altered); `cashet fsck --repair` removes it")
        }
        return PlannedCommit(commit: Commit(hash: commit, fingerprint: draft.fingerprint, task: task, output: output, status: status,
                                            error: error, createdAt: draft.createdAt, tags: tags, parent: parent),
                             record: record)
    }
}
