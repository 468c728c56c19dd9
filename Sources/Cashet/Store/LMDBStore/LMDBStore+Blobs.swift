import Foundation

/// Blobs: inline in LMDB below ``LMDBStore/Configuration/fileThreshold``, zstd (or raw) files
/// in `objects/` above it. Reference counts in `blob_info` decide when a blob goes.
extension LMDBStore {
    /// A blob hashed, and compressed or staged to a file, before the write transaction (to keep it short).
    struct PreparedBlob {
        let ref: ObjectRef
        /// The `blobs` table value and the size on disk; nil when the blob was found already stored.
        let record: (stored: [UInt8], storedSize: Int)?
        /// The file to publish before the transaction commits (large blobs).
        let staged: BlobFiles.Staged?

        /// The bytes, when the record keeps them raw (what a commit row can hold inline).
        var rawBytes: [UInt8]? {
            guard let stored = record?.stored, stored.first == StoreRecords.BlobEncoding.raw.rawValue, stored.count == ref.size + 1 else { return nil }
            return Array(stored[1...])
        }
    }

    /// The record of a blob staged to a file.
    static func fileBlob(_ ref: ObjectRef, _ staged: BlobFiles.Staged) -> PreparedBlob {
        PreparedBlob(ref: ref, record: (StoreRecords.encodeFileBlob(staged), staged.storedSize), staged: staged)
    }

    /// Thrown inside a transaction when a blob found stored before it was removed meanwhile.
    struct BlobVanished: Error {}

    /// What a write transaction changes besides its rows: counters, and files to unlink after commit.
    struct WriteState {
        var counters: StoreRecords.Counters
        var filesToRemove: [ContentHash] = []
        /// Functions whose record this transaction already ensured (a batch of one function's
        /// commits encodes its source once, not once per commit), as stored.
        var functions: [ContentHash: StoredFunction] = [:]
        /// Commits added and removed, for the tallies (``applyTallies(_:_:)``).
        var tallies = TallyDelta()
    }

    /// Hashes (through the prehash memo) and prepares `bytes`. With `reuse`, bytes this store
    /// instance prepared before, and large blobs found in the store, are neither compressed nor
    /// written again: the transaction only adds a reference (and falls back if the blob is gone).
    nonisolated(nonsending) func prepareBlob(_ bytes: [UInt8], reuse: Bool = true) async throws(CashetError) -> PreparedBlob {
        let key = prehash.key(for: bytes)
        // Results a commit row keeps itself always carry their bytes (never "found stored").
        if bytes.count <= tables.layout.inlineResultLimit {
            let hash = key.flatMap(prehash.hash(forKey:)) ?? SHA256Hasher.hash(bytes)
            if let key { prehash.remember(hash, forKey: key) }
            return PreparedBlob(ref: ObjectRef(hash: hash, size: bytes.count), record: ([StoreRecords.BlobEncoding.raw.rawValue] + bytes, bytes.count + 1), staged: nil)
        }
        if let key, let hash = prehash.hash(forKey: key) {
            let ref = ObjectRef(hash: hash, size: bytes.count)
            if reuse { return PreparedBlob(ref: ref, record: nil, staged: nil) }
            return try prepareNew(bytes, ref)
        }
        guard bytes.count >= configuration.fileThreshold else {
            let ref = ObjectRef(hash: SHA256Hasher.hash(bytes), size: bytes.count)
            if let key { prehash.remember(ref.hash, forKey: key) }
            return try prepareNew(bytes, ref)
        }
        // Large and new to this process: SHA-256 runs on another core while the file is staged,
        // and stops the staging early when the store turns out to have the blob already.
        let stop = StopFlag()
        async let digest = hashAndFind(bytes, key, stop: reuse ? stop : nil)
        let staged = try files.stage(bytes, level: configuration.compressionLevel, stop: stop)
        let (hash, found) = await digest
        let ref = ObjectRef(hash: hash, size: bytes.count)
        if reuse && found {
            if let staged { files.discard(staged) }
            return PreparedBlob(ref: ref, record: nil, staged: nil)
        }
        guard let staged else { return try prepareNew(bytes, ref) }   // not reached: only `found` stops staging
        return Self.fileBlob(ref, staged)
    }

    /// SHA-256 of `bytes` (remembered in the memo), and whether the store has that blob; raises
    /// `stop` when it does.
    private nonisolated func hashAndFind(_ bytes: [UInt8], _ key: PrehashMemo.Key?, stop: StopFlag?) async -> (ContentHash, Bool) {
        let hash = SHA256Hasher.hash(bytes)
        if let key { prehash.remember(hash, forKey: key) }
        guard let stop else { return (hash, false) }
        let found = (try? reading("looking up blob \(hash.shortHex)") { txn in try txn.get(tables.blobInfo, hash.bytes) }) != nil
        if found { stop.raise() }
        return (hash, found)
    }

    /// The record of a blob with a known hash: inline (zstd when it saves an eighth) or a staged file.
    private func prepareNew(_ bytes: [UInt8], _ ref: ObjectRef) throws(CashetError) -> PreparedBlob {
        if bytes.count >= configuration.fileThreshold, let staged = try files.stage(bytes, level: configuration.compressionLevel) {
            return Self.fileBlob(ref, staged)
        }
        if bytes.count >= configuration.compressionThreshold {
            let compressed = try Zstd.compress(bytes, level: configuration.compressionLevel)
            // Keep the compressed form only when it saves at least an eighth.
            if compressed.count < bytes.count - bytes.count / 8 {
                let stored = [StoreRecords.BlobEncoding.zstd.rawValue] + compressed
                return PreparedBlob(ref: ref, record: (stored, stored.count), staged: nil)
            }
        }
        let stored = [StoreRecords.BlobEncoding.raw.rawValue] + bytes
        return PreparedBlob(ref: ref, record: (stored, stored.count), staged: nil)
    }

    /// One write transaction that stores each of `blobs` (those given) together with what
    /// `body` writes; `body` receives them prepared, in order. Large blobs' files are published
    /// under the objects lock just before; if a blob vanished between the check and the
    /// transaction, every blob is prepared again in full.
    nonisolated(nonsending) func writing<T>(storing blobs: [[UInt8]?], _ action: @autoclosure () -> String,
                                            _ body: (LMDBTransaction, [PreparedBlob?], inout WriteState) throws -> T) async throws(CashetError) -> T {
        try await writing(prepared: try await prepareBlobs(blobs, reuse: true), of: blobs, action(), body)
    }

    /// ``writing(storing:_:_:)`` with `blobs` already prepared (perhaps long before: another
    /// writer may have stored the same blob meanwhile, with other settings).
    nonisolated(nonsending) func writing<T>(prepared: [PreparedBlob?], of blobs: [[UInt8]?], _ action: @autoclosure () -> String,
                                            _ body: (LMDBTransaction, [PreparedBlob?], inout WriteState) throws -> T) async throws(CashetError) -> T {
        var prepared = prepared
        while true {
            let attempt = prepared
            // Unpublished temp files of this attempt go; published ones are no longer there.
            defer { for case let blob? in attempt { if let staged = blob.staged { files.discard(staged) } } }
            do {
                let staged = attempt.compactMap { $0 }.filter { $0.staged != nil }
                guard !staged.isEmpty else {
                    return try writingState(action(), { txn, state in try body(txn, attempt, &state) })
                }
                return try await files.withLock { () throws(CashetError) -> T in
                    // A blob recorded meanwhile (by another writer, perhaps with other settings)
                    // keeps its file: replacing it could leave a record describing another file.
                    // Only file records are added under this lock, so this look is the truth.
                    let recorded = try reading("looking up \(staged.count) blob(s)") { txn in
                        try staged.map { blob in try txn.get(tables.blobInfo, blob.ref.hash.bytes) != nil }
                    }
                    for (blob, isRecorded) in zip(staged, recorded) where !isRecorded { try files.publish(blob.staged!, as: blob.ref.hash) }
                    return try writingState(action(), { txn, state in try body(txn, attempt, &state) })
                }
            } catch {
                guard error.underlying is BlobVanished else { throw error }
                prepared = try await prepareBlobs(blobs, reuse: false)
            }
        }
    }

    /// ``writing(storing:_:_:)`` for at most one blob.
    nonisolated(nonsending) func writing<T>(storing bytes: [UInt8]?, _ action: @autoclosure () -> String,
                                            _ body: (LMDBTransaction, PreparedBlob?, inout WriteState) throws -> T) async throws(CashetError) -> T {
        try await writing(storing: [bytes], action()) { txn, blobs, state in try body(txn, blobs[0], &state) }
    }

    nonisolated(nonsending) func prepareBlobs(_ blobs: [[UInt8]?], reuse: Bool) async throws(CashetError) -> [PreparedBlob?] {
        var prepared: [PreparedBlob?] = []
        prepared.reserveCapacity(blobs.count)
        for bytes in blobs {
            if let bytes { prepared.append(try await prepareBlob(bytes, reuse: reuse)) } else { prepared.append(nil) }
        }
        return prepared
    }

    /// A write transaction with counters read at the start and written at the end. It also
    /// writes what the ``AccessLog`` holds.
    func writingState<T>(_ action: @autoclosure () -> String, _ body: (LMDBTransaction, inout WriteState) throws -> T) throws(CashetError) -> T {
        try withPendingAccess { pending throws(CashetError) in
            try writing(action()) { txn in try withWriteState(txn, access: pending, body) }
        }
    }

    /// The inside of ``writingState(_:_:)``, for a transaction begun elsewhere (the journal's flush).
    /// Hit times go in after `body`: a hit on a commit the body applies (from the journal) counts.
    func withWriteState<T>(_ txn: LMDBTransaction, access: AccessLog.Pending, _ body: (LMDBTransaction, inout WriteState) throws -> T) throws -> T {
        var state = WriteState(counters: try readCounters(txn))
        let result = try body(txn, &state)
        try txn.put(tables.meta, Self.countersKey, state.counters.bytes)
        if !state.tallies.isEmpty, try keepsTallies(txn) { try applyTallies(state.tallies, txn) }
        try writeAccessLog(access, txn)
        return result
    }

    /// A write transaction that may drop blobs: it commits holding the objects lock, and the
    /// files of dropped blobs are unlinked before the lock is released. When the lock cannot be
    /// had (its file unreadable, or a link), a removal that drops no file still goes ahead (so an
    /// import can take back what it added), and one that would drop a file fails with that error.
    nonisolated(nonsending) func writingRemovals<T>(_ action: @autoclosure () -> String, _ body: (LMDBTransaction, inout WriteState) throws -> T) async throws(CashetError) -> T {
        var locked = false
        do {
            return try await files.withLock { () throws(CashetError) -> T in
                locked = true
                let (result, doomed) = try writingState(action()) { txn, state in (try body(txn, &state), state.filesToRemove) }
                for hash in doomed { try files.remove(hash) }
                return result
            }
        } catch where !locked && (error.code == .permissionDenied || error.code == .corruptData) {
            let lockError = error
            return try writingState(action()) { txn, state in
                let result = try body(txn, &state)
                guard state.filesToRemove.isEmpty else { throw lockError }   // aborts the transaction
                return result
            }
        }
    }

    /// Adds `references` to a blob, inserting it first when new. A new unreferenced blob is listed
    /// for the next sweep.
    func retainBlob(_ blob: PreparedBlob, references: Int, _ txn: LMDBTransaction, _ state: inout WriteState) throws {
        let key = blob.ref.hash.bytes
        // A new blob (the common case on a miss) is inserted without looking it up first.
        if let record = blob.record {
            let info = StoreRecords.BlobInfo(size: blob.ref.size, storedSize: record.storedSize, references: references)
            if try insertBlob(key, info, stored: record.stored, inFile: blob.staged != nil, txn, &state) { return }
        }
        guard let raw = try txn.get(tables.blobInfo, key) else { throw BlobVanished() }
        guard references > 0 else { return }
        var info = try StoreRecords.BlobInfo(raw)
        if info.references == 0 { try txn.delete(tables.unreferenced, key) }
        info.references += references
        try txn.put(tables.blobInfo, key, info.bytes)
    }

    /// Inserts the rows of a blob the store does not have (false, changing nothing, when it has).
    func insertBlob(_ key: [UInt8], _ info: StoreRecords.BlobInfo, stored: [UInt8], inFile: Bool, _ txn: LMDBTransaction, _ state: inout WriteState) throws -> Bool {
        guard try txn.put(tables.blobInfo, key, info.bytes, noOverwrite: true) else { return false }
        try txn.put(tables.blobs, key, stored)
        if info.references == 0 { try txn.put(tables.unreferenced, key, []) }
        state.counters.count(info, inFile: inFile, +1)
        return true
    }

    /// Drops one reference; the blob goes with its last one.
    func releaseBlob(_ hash: ContentHash, _ txn: LMDBTransaction, _ state: inout WriteState) throws -> EvictionReport {
        let key = hash.bytes
        guard let raw = try txn.get(tables.blobInfo, key) else { return EvictionReport() }
        var info = try StoreRecords.BlobInfo(raw)
        info.references -= 1
        if info.references > 0 {
            try txn.put(tables.blobInfo, key, info.bytes)
            return EvictionReport()
        }
        return try dropBlob(hash, info, txn, &state)
    }

    /// Whether the blob `hash` is recorded as kept in a file.
    func isRecordedFile(_ hash: ContentHash, _ txn: LMDBTransaction) throws -> Bool {
        guard let stored = try txn.get(tables.blobs, hash.bytes) else { return false }
        if case .file = try StoreRecords.decodeBlobLocation(stored, hash: hash) { return true }
        return false
    }

    /// Removes a blob's rows now and schedules its file for removal after commit.
    func dropBlob(_ hash: ContentHash, _ info: StoreRecords.BlobInfo, _ txn: LMDBTransaction, _ state: inout WriteState) throws -> EvictionReport {
        let key = hash.bytes
        // A damaged row that names no file reads as inline: a file it did name is then an
        // orphan, which fsck --repair and gc remove.
        let inFile = (try? isRecordedFile(hash, txn)) ?? false
        if inFile { state.filesToRemove.append(hash) }
        try txn.delete(tables.blobs, key)
        try txn.delete(tables.blobInfo, key)
        try txn.delete(tables.unreferenced, key)
        state.counters.count(info, inFile: inFile, -1)
        return EvictionReport(blobsRemoved: 1, bytesFreed: info.size, storedBytesFreed: info.storedSize)
    }

    // MARK: Reading

    /// A blob's bytes, checked: inline ones against their recorded size, files against size and checksum.
    func readBlob(_ hash: ContentHash) throws(CashetError) -> [UInt8] {
        try readBlob(hash, try locateBlob(hash))
    }

    func readBlob(_ hash: ContentHash, _ located: LocatedBlob) throws(CashetError) -> [UInt8] {
        let info = located.info
        switch located.location {
        case .inline(.zstd, let frame):
            return try Zstd.decompress(frame, expectedSize: info.size)
        case .inline(_, let payload):
            guard payload.count == info.size else {
                throw CashetError(.corruptData, "blob \(hash.hex) has \(payload.count) bytes, its metadata says \(info.size)")
            }
            return Array(payload)
        case .file(let codec, let checksum):
            // The recorded size is not trusted for an allocation beyond 64 MiB: larger blobs load
            // through a sink that grows with what the file really holds.
            if info.size > Zstd.trustedAllocation {
                var sink = GrowingSink(limit: info.size)
                guard try files.read(hash, codec: codec, size: info.size, into: &sink) else { throw missingFileError(hash) }
                let bytes = sink.bytes
                try verify(hash, checksum: checksum, actual: XXHash.hash64(bytes))
                return bytes
            }
            var failure: CashetError?
            let bytes = [UInt8](unsafeUninitializedCapacity: info.size) { buffer, count in
                var sink = MemorySink(UnsafeMutableRawBufferPointer(buffer))
                do throws(CashetError) {
                    guard try files.read(hash, codec: codec, size: info.size, into: &sink) else {
                        failure = missingFileError(hash)
                        return
                    }
                    count = info.size
                } catch {
                    failure = error
                }
            }
            if let failure { throw failure }
            try verify(hash, checksum: checksum, actual: XXHash.hash64(bytes))
            return bytes
        }
    }

    /// Every loaded blob, when ``Configuration/verifyOnLoad`` asks for it.
    func verifiedIfAsked(_ hash: ContentHash, _ bytes: [UInt8]) throws(CashetError) -> [UInt8] {
        guard configuration.verifyOnLoad, SHA256Hasher.hash(bytes) != hash else { return bytes }
        throw damagedError(hash)
    }

    private func damagedError(_ hash: ContentHash) -> CashetError {
        CashetError(.corruptData, "blob \(hash.hex) in \(path) does not hash to its name: its stored bytes are damaged (run `cashet fsck`)")
    }

    /// Streams a blob to `descriptor` through one bounded buffer, checking it as it goes (and
    /// its SHA-256 too with ``Configuration/verifyOnLoad``). Inline blobs are small: loaded, then written.
    public nonisolated(nonsending) func exportBlob(_ hash: ContentHash, toFileDescriptor descriptor: Int32) async throws(CashetError) {
        let located = try locateBlob(hash)
        let info = located.info
        guard case .file(let codec, let checksum) = located.location else {
            return try PosixFile.writeAll(try verifiedIfAsked(hash, try readBlob(hash, located)), toDescriptor: descriptor)
        }
        var sink = FileSink(try PosixFile.duplicate(descriptor), sha256: configuration.verifyOnLoad)
        guard try files.read(hash, codec: codec, size: info.size, into: &sink) else { throw missingFileError(hash) }
        try verify(hash, checksum: checksum, actual: sink.digest)
        if let sha256 = sink.sha256, sha256 != hash { throw damagedError(hash) }
    }

    /// Whether a `blobs` row kept in the database (decoded as `location`, `storedSize` bytes)
    /// holds bytes of `size` that hash to `hash` (a row a rebuild found, its metadata untrusted).
    func inlineRowProvesItself(_ hash: ContentHash, _ location: StoreRecords.BlobLocation, storedSize: Int, size: Int) -> Bool {
        guard case .inline = location,
              let bytes = try? readBlob(hash, LocatedBlob(location: location, info: StoreRecords.BlobInfo(size: size, storedSize: storedSize, references: 0)))
        else { return false }
        return SHA256Hasher.hash(bytes) == hash
    }

    /// Where a blob is and its metadata (a struct, not a tuple: tuples took the load path through
    /// unspecialized runtime copies).
    struct LocatedBlob {
        let location: StoreRecords.BlobLocation
        let info: StoreRecords.BlobInfo
    }

    private func locateBlob(_ hash: ContentHash) throws(CashetError) -> LocatedBlob {
        if let located = try journaledBlob(hash) { return located }
        return try reading("reading blob \(hash.shortHex)") { txn in try locateBlob(hash, txn) }
    }

    /// A small result still only in the journal.
    private func journaledBlob(_ hash: ContentHash) throws(CashetError) -> LocatedBlob? {
        guard let (row, size) = try journaled({ overlay in overlay.inlineRows[hash].map { ($0, overlay.sizes[hash] ?? 0) } }) else { return nil }
        return LocatedBlob(location: try StoreRecords.decodeBlobLocation(row, hash: hash),
                           info: StoreRecords.BlobInfo(size: size, storedSize: row.count, references: 1))
    }

    func locateBlob(_ hash: ContentHash, _ txn: LMDBTransaction) throws -> LocatedBlob {
        let key = hash.bytes
        guard let stored = try txn.get(tables.blobs, key), let info = try txn.get(tables.blobInfo, key) else {
            if let inline = try tables.layout.inlineResult(hash, txn) {
                return LocatedBlob(location: .inline(.raw, inline[...]), info: StoreRecords.BlobInfo(size: inline.count, storedSize: inline.count, references: 1))
            }
            throw CashetError(.notFound, "no blob \(hash.hex) in \(path)")
        }
        return LocatedBlob(location: try StoreRecords.decodeBlobLocation(stored, hash: hash), info: try StoreRecords.BlobInfo(info))
    }

    public nonisolated(nonsending) func blobs(_ hashes: [ContentHash]) async throws(CashetError) -> [[UInt8]] {
        // Located in one snapshot; inline bytes are decoded there, files read after it ends.
        let journaled = try hashes.map { hash throws(CashetError) in try journaledBlob(hash) }
        let located = try reading("reading \(hashes.count) blobs") { txn in
            try zip(hashes, journaled).map { hash, journaled in try journaled ?? locateBlob(hash, txn) }
        }
        var result: [[UInt8]] = []
        result.reserveCapacity(hashes.count)
        for (hash, blob) in zip(hashes, located) { result.append(try verifiedIfAsked(hash, try readBlob(hash, blob))) }
        return result
    }

    private func verify(_ hash: ContentHash, checksum: UInt64, actual: UInt64) throws(CashetError) {
        guard checksum == actual else {
            throw CashetError(.corruptData, "blob file \(files.path(of: hash)) does not match its checksum: its bytes are damaged")
        }
    }

    /// A file that is gone: deleted meanwhile (not found) or lost (damage).
    private func missingFileError(_ hash: ContentHash) -> CashetError {
        let stillRecorded = (try? reading("looking up blob \(hash.shortHex)") { txn in try txn.get(tables.blobInfo, hash.bytes) }) != nil
        if stillRecorded { return CashetError(.corruptData, "blob file \(files.path(of: hash)) is missing (run `cashet fsck`)") }
        return CashetError(.notFound, "no blob \(hash.hex) in \(path) (it was removed)")
    }
}
