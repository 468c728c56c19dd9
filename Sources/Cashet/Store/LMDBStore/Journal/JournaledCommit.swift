/// One commit as the journal holds it until a flush applies it to LMDB: what a direct write
/// would have stored (the record, the function's row, the result's row), so that applying it
/// later changes LMDB exactly as the direct write would have.
///
/// A record's payload is a batch of these:
/// ```
/// count varint · per commit: hash (32) · record (length-prefixed) · function row (length-prefixed)
///                            · result: 0 none | 1 stored (hash 32 · size varint)
///                                      | 2 new inline (hash 32 · size varint · blobs row, length-prefixed)
/// ```
struct JournaledCommit {
    let commit: Commit
    /// The canonical commit record (``CanonicalCommit/encodeCommit(_:output:parent:)``).
    let record: [UInt8]
    /// The function's row (``CanonicalCommit/encodeFunction(_:)``).
    let function: [UInt8]
    let result: Result?

    /// The commit's result: already in the store when the commit was journaled, or new and
    /// small enough to live inline (large results are written directly, never journaled).
    enum Result {
        case stored(ObjectRef)
        case inline(ObjectRef, row: [UInt8])

        var ref: ObjectRef {
            switch self {
            case .stored(let ref), .inline(let ref, _): ref
            }
        }
    }

    static func encode(_ commits: [JournaledCommit]) -> [UInt8] {
        var w = ByteWriter(capacity: commits.reduce(8) { $0 + $1.record.count + $1.function.count + 96 + ($1.inlineRow?.count ?? 0) })
        w.appendVarint(UInt64(commits.count))
        for commit in commits {
            w.append(contentsOf: commit.commit.hash.bytes)
            w.appendLengthPrefixed(commit.record)
            w.appendLengthPrefixed(commit.function)
            switch commit.result {
            case nil:
                w.append(0)
            case .stored(let ref):
                w.append(1)
                w.append(contentsOf: ref.hash.bytes)
                w.appendVarint(UInt64(ref.size))
            case .inline(let ref, let row):
                w.append(2)
                w.append(contentsOf: ref.hash.bytes)
                w.appendVarint(UInt64(ref.size))
                w.appendLengthPrefixed(row)
            }
        }
        return w.bytes
    }

    private var inlineRow: [UInt8]? {
        if case .inline(_, let row)? = result { return row }
        return nil
    }

    /// The commits of one payload. The journal's checksums already vouch for the bytes; a payload
    /// that does not decode anyway is damage, reported as such.
    static func decode(_ payload: [UInt8]) throws(CashetError) -> [JournaledCommit] {
        var r = ByteReader(payload, what: "journal record")
        let count = try r.readCount()
        var commits: [JournaledCommit] = []
        commits.reserveCapacity(min(count, payload.count / 64))
        for _ in 0..<count {
            let hash = try ContentHash(bytes: try r.readBytes(ContentHash.byteCount))
            let record = try r.readLengthPrefixed()
            let function = try r.readLengthPrefixed()
            let result: Result?
            switch try r.readByte() {
            case 0:
                result = nil
            case let tag where tag == 1 || tag == 2:
                let ref = ObjectRef(hash: try ContentHash(bytes: try r.readBytes(ContentHash.byteCount)), size: try r.readCount())
                result = tag == 1 ? .stored(ref) : .inline(ref, row: try r.readLengthPrefixed())
            case let tag:
                throw CashetError(.corruptData, "a journal record names a result of unknown kind \(tag)")
            }
            let details = try CanonicalCommit.decodeFunctionDetails(function)
            let commit = try CanonicalCommit.decodeCommit(hash: hash, record, details: details)
            commits.append(JournaledCommit(commit: commit, record: record, function: function, result: result))
        }
        guard r.isAtEnd else { throw CashetError(.corruptData, "a journal record has trailing bytes") }
        return commits
    }
}
