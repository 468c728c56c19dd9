import Foundation

/// The canonical commit record: the bytes whose SHA-256 is a commit's hash, and the function
/// record kept once per identity. Every store writes these exact bytes (LMDB's `commits` table,
/// PostgreSQL's `record` column, archives), so a hash names the same commit everywhere; a store's
/// own layouts (heads, indexes, blob metadata) live with the store.
///
/// Hand-written, versioned and length-checked: a record that does not parse is reported as
/// `.corruptData`, never half-read.
package enum CanonicalCommit {
    static let recordVersion: UInt8 = 1

    // MARK: Time

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


    // MARK: Commits

    package static func encodeCommit(_ draft: CommitDraft, output: ObjectRef?, parent: ContentHash?) -> [UInt8] {
        var w = ByteWriter(capacity: 256)
        w.append(recordVersion)
        w.append(contentsOf: draft.fingerprint.bytes)
        w.appendOptionalHash(parent)
        w.append(draft.status == .completed ? 1 : 2)
        w.appendFixedLittleEndian(UInt64(bitPattern: nanoseconds(draft.createdAt)))
        w.appendOptionalHash(output?.hash)
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
    package static func decodeVerifiedCommit(hash: ContentHash, _ bytes: [UInt8], details: FunctionDetails) throws(CashetError) -> Commit {
        guard SHA256Hasher.hash(bytes) == hash else {
            throw CashetError(.corruptData, "commit \(hash.hex) is damaged: its record does not hash to its name (altered); `cashet fsck --repair` removes it")
        }
        return try decodeCommit(hash: hash, bytes, details: details)
    }

    /// The function a commit record names, read without decoding the rest (to look up its
    /// source before the whole decode). A record cut short on disk is damage, not a trap.
    package static func functionHash(ofRecord bytes: [UInt8], hash: ContentHash) throws(CashetError) -> ContentHash {
        var r = ByteReader(bytes, what: "commit record")
        do {
            _ = try r.readByte()
            return try Fingerprint(bytes: try r.readBytes(64)).functionHash
        } catch {
            throw CashetError(.corruptData, "commit \(hash.hex) is damaged: its record is \(bytes.count) bytes, too short to name its function; `cashet fsck --repair` removes it")
        }
    }

    /// Decodes a commit record; `details` come from the function table (stored once per function).
    package static func decodeCommit(hash: ContentHash, _ bytes: [UInt8], details: FunctionDetails) throws(CashetError) -> Commit {
        do {
            return try decodeCommitRecord(hash: hash, bytes, details: details)
        } catch {
            throw CashetError(.corruptData, "commit \(hash.hex) cannot be read: \(error.message)")
        }
    }

    private static func decodeCommitRecord(hash: ContentHash, _ bytes: [UInt8], details: FunctionDetails) throws(CashetError) -> Commit {
        var r = ByteReader(bytes, what: "commit record")
        let version = try r.readByte()
        guard version == recordVersion else {
            throw CashetError(.corruptData, "commit \(hash.shortHex) has record version \(version), expected \(recordVersion)")
        }
        let fingerprint = try Fingerprint(bytes: try r.readBytes(64))
        let parent = try r.readOptionalHash()
        let status = try r.readStatus(of: hash)
        let createdAt = date(nanoseconds: Int64(bitPattern: try r.readFixedLittleEndian()))
        var output: ObjectRef?
        if let outputHash = try r.readOptionalHash() {
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
        let task = TaskDefinition(functionName: name, functionHash: fingerprint.functionHash, functionVersion: functionVersion, source: details.source,
                                  identityManifest: details.manifest, argumentsSnapshot: snapshot, cacheable: cacheable)
        return Commit(hash: hash, fingerprint: fingerprint, task: task, output: output, status: status, error: error, createdAt: createdAt, tags: tags, parent: parent)
    }

    // MARK: Functions (source and identity manifest stored once per identity)

    package static func encodeFunction(_ task: TaskDefinition) -> [UInt8] {
        encodeFunction(name: task.functionName, version: task.functionVersion, details: task.details)
    }

    /// The record: name, version, the source if known, then the identity manifest if known.
    /// A record without a manifest is byte for byte what releases before manifests wrote.
    package static func encodeFunction(name: String, version: String, details: FunctionDetails) -> [UInt8] {
        let manifestText = details.manifest?.encoded
        var w = ByteWriter(capacity: 64 + (details.source?.utf8.count ?? 0) + (manifestText?.utf8.count ?? 0))
        w.append(recordVersion)
        w.appendString(name)
        w.appendString(version)
        w.append(details.source == nil ? 0 : 1)
        if let source = details.source { w.appendString(source) }
        if let manifest = details.manifest, let manifestText {
            w.append(1)
            w.appendString(manifest.hash)
            w.appendString(manifestText)
        }
        return w.bytes
    }

    /// Decodes a function record that must be exactly what ``encodeFunction(_:)`` writes (an
    /// archive's: a non-canonical or trailing byte is refused).
    package static func decodeCanonicalFunction(_ bytes: [UInt8]) throws(CashetError) -> (name: String, version: String, details: FunctionDetails) {
        var r = ByteReader(bytes, what: "function record")
        let function = try readFunction(&r)
        guard r.isAtEnd, encodeFunction(name: function.name, version: function.version, details: function.details) == bytes else {
            throw CashetError(.corruptData, "the function record of '\(function.name.prefix(40))' is not in canonical form")
        }
        return function
    }

    /// A function record's fields, without the canonical-form check (what a store reads back).
    package static func decodeFunction(_ bytes: [UInt8]) throws(CashetError) -> (name: String, version: String, details: FunctionDetails) {
        var r = ByteReader(bytes, what: "function record")
        return try readFunction(&r)
    }

    private static func readFunction(_ r: inout ByteReader) throws(CashetError) -> (name: String, version: String, details: FunctionDetails) {
        let version = try r.readByte()
        guard version == recordVersion else { throw CashetError(.corruptData, "a function record has version \(version), expected \(recordVersion)") }
        let name = try r.readString()
        let functionVersion = try r.readString()
        return (name, functionVersion, try readDetails(&r))
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

    /// The source and manifest of a function record, without the canonical-form check.
    package static func decodeFunctionDetails(_ bytes: [UInt8]) throws(CashetError) -> FunctionDetails {
        var r = ByteReader(bytes, what: "function record")
        _ = try r.readByte()
        _ = try r.readString()
        _ = try r.readString()
        return try readDetails(&r)
    }

    private static func readDetails(_ r: inout ByteReader) throws(CashetError) -> FunctionDetails {
        let source: String? = try r.readByte() == 1 ? try r.readString() : nil
        guard !r.isAtEnd else { return FunctionDetails(source: source) }
        guard try r.readByte() == 1 else { throw CashetError(.corruptData, "a function record has a manifest marker that is not 1") }
        let hash = try r.readString()
        return FunctionDetails(source: source, manifest: try IdentityManifest.decode(hash: hash, try r.readString()))
    }
}
