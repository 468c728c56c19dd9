import Foundation

extension LMDBStore {
    public nonisolated(nonsending) func head(for fingerprint: Fingerprint) async throws(CashetError) -> CommitHead? {
        try readHead(fingerprint)?.head
    }

    public nonisolated(nonsending) func heads(for fingerprints: [Fingerprint]) async throws(CashetError) -> [CommitHead?] {
        let journaled = try journaled { overlay in fingerprints.map { overlay.heads[$0] } } ?? []
        let found = try reading("looking up \(fingerprints.count) fingerprints") { txn in
            try fingerprints.indices.map { index in
                journaled.isEmpty || journaled[index] == nil ? try tables.layout.head(fingerprints[index], txn)?.head : nil
            }
        }
        return found.indices.map { index in (journaled.isEmpty ? nil : journaled[index]) ?? found[index] }.map { $0.map(noteHit) }
    }

    /// The head of `fingerprint` and, for a result of at most 4 KiB kept in the
    /// database, its bytes, read in the same transaction (verified when `verifyOnLoad`).
    public nonisolated(nonsending) func headAndOutput(for fingerprint: Fingerprint) async throws(CashetError) -> (head: CommitHead, output: [UInt8]?)? {
        try readHead(fingerprint, preloading: true)
    }

    /// The hit path: one read transaction, no write; with `preloading`, a result of at most
    /// ``preloadLimit`` bytes kept in the database is read in the same transaction.
    func readHead(_ fingerprint: Fingerprint, preloading: Bool = false) throws(CashetError) -> (head: CommitHead, output: [UInt8]?)? {
        if let head = try journaled({ $0.heads[fingerprint] }) {
            let output = preloadable(head, preloading).flatMap { output in
                (try? journaled { $0.inlineRows[output.hash] })?.flatMap { row in row.withUnsafeBytes { preloaded(output, row: $0) } }
            }
            return (noteHit(head), output)
        }
        let found = try reading("looking up fingerprint \(fingerprint)") { txn -> (CommitHead, [UInt8]?)? in
            guard let (head, inline) = try tables.layout.head(fingerprint, txn) else { return nil }
            if let inline { return (head, preloading ? try? verifiedIfAsked(head.output!.hash, inline) : nil) }
            let output = preloadable(head, preloading).flatMap { output in
                (try? output.hash.withUnsafeBytes { key in try txn.withValue(tables.blobs, key: key) { preloaded(output, row: $0) } })?.flatMap { $0 }
            }
            return (head, output)
        }
        guard let (head, output) = found else { return nil }
        return (noteHit(head), output)
    }

    /// Results a hit reads with its head: those kept in a row of at most a page.
    static let preloadLimit = 4096

    /// The result of `head` a hit reads with it, when `preloading`: one of at most ``preloadLimit`` bytes.
    private func preloadable(_ head: CommitHead, _ preloading: Bool) -> ObjectRef? {
        guard preloading, let output = head.output, output.size <= Self.preloadLimit else { return nil }
        return output
    }

    /// The bytes of `output` from its `blobs` row, read in place (LMDB's map or the journal's
    /// overlay): a raw row's bytes are copied once; another kept-inline row is decoded. Its size
    /// comes from the head, so `blob_info` is not read. Nil for a file and for anything wrong
    /// (the result's own load then reports it).
    private func preloaded(_ output: ObjectRef, row: UnsafeRawBufferPointer) -> [UInt8]? {
        let bytes: [UInt8]
        if row.first == StoreRecords.BlobEncoding.raw.rawValue, row.count == output.size + 1 {
            bytes = Array(UnsafeRawBufferPointer(rebasing: row[1...]))
        } else {
            let info = StoreRecords.BlobInfo(size: output.size, storedSize: row.count, references: 1)
            guard let location = try? StoreRecords.decodeBlobLocation(Array(row), hash: output.hash), case .inline = location,
                  let decoded = try? readBlob(output.hash, LocatedBlob(location: location, info: info)) else { return nil }
            bytes = decoded
        }
        return try? verifiedIfAsked(output.hash, bytes)
    }

    /// Notes the time of a head read for least-recently-used eviction (in memory; see ``AccessLog``).
    private func noteHit(_ head: CommitHead) -> CommitHead {
        if !configuration.readOnly && accessLog.note(head.commit, at: AccessLog.now()) { flushAccessLogInBackground() }
        return head
    }

    public func noteCalls(hits: Int, misses: Int) {
        if !configuration.readOnly && accessLog.count(hits: hits, misses: misses) { flushAccessLogInBackground() }
    }

    /// After `close()`, no flush starts: the times and counts are written when the store is released.
    private func flushAccessLogInBackground() {
        _ = backgroundFlushes.start { [self] in
            do { try flushAccessLog() } catch { logger.warning("hit times and call counts not written; kept for the next write", metadata: ["error": "\(error)"]) }
        }
    }

    public nonisolated(nonsending) func blob(_ hash: ContentHash) async throws(CashetError) -> [UInt8] {
        try verifiedIfAsked(hash, try readBlob(hash))
    }

    public nonisolated(nonsending) func commit(_ hash: ContentHash) async throws(CashetError) -> Commit? {
        let journaled = try journaled({ $0.commits[hash] })
        return try reading("reading commit \(hash.shortHex)") { txn in
            var known: [ContentHash: IdentityManifest?] = [:]
            return try journaled.map { try withManifest($0, txn, &known) } ?? tables.layout.commit(hash, verified: true, txn)
        }
    }

    public nonisolated(nonsending) func commits(matching query: CommitQuery) async throws(CashetError) -> [Commit] {
        let journaled = try journaledForListing()
        return try reading("listing commits") { txn in
            let limit = query.limit ?? Int.max
            guard limit > 0 else { return [] }
            // Walk the most selective time-ordered index backwards (newest first).
            let (table, key): (LMDBDatabase, [UInt8]?)
            if let name = query.functionName {
                (table, key) = (tables.functions, Array(name.utf8))
            } else if let (tagKey, tagValue) = query.tags.min(by: { $0.key < $1.key }) {
                (table, key) = (tables.tags, StoreRecords.tagKey(tagKey, tagValue))
            } else {
                (table, key) = (tables.timeline, nil)
            }
            let sinceBytes = query.since.map(StoreRecords.timeBytes)
            // The time key of the cursor's position: the walk starts below it.
            let cursorKey = query.before.map { tables.layout.timeKey(CanonicalCommit.date(nanoseconds: $0.createdAtNanoseconds), $0.hash) }
            var result: [Commit] = []
            try txn.withCursor(table) { cursor in
                var entry: (key: [UInt8], value: [UInt8])?
                switch (key, cursorKey) {
                case (let key?, let cursorKey?):
                    entry = try cursor.moveToDuplicate(atLeast: cursorKey, of: key)
                    entry = try entry == nil ? cursor.move(.setKey, key: key).flatMap { _ in try cursor.move(.lastDuplicate) } : cursor.move(.previousDuplicate)
                case (let key?, nil):
                    entry = try cursor.move(.setKey, key: key)
                    if entry != nil { entry = try cursor.move(.lastDuplicate) }
                case (nil, let cursorKey?):
                    entry = try cursor.move(.setRange, key: cursorKey) == nil ? cursor.move(.last) : cursor.move(.previous)
                case (nil, nil):
                    entry = try cursor.move(.last)
                }
                while let current = entry, result.count < limit {
                    let timeKey = key == nil ? current.key : current.value
                    if let sinceBytes, timeKey.prefix(8).lexicographicallyPrecedes(sinceBytes) { break }
                    if let hash = try tables.layout.commitHash(fromTimeKey: timeKey, txn), let commit = try tables.layout.commit(hash, verified: true, txn), query.admits(commit) {
                        result.append(commit)
                    }
                    entry = try cursor.move(key == nil ? .previous : .previousDuplicate)
                }
            }
            let pending = try unapplied(journaled, txn).filter(query.admits)
            guard !pending.isEmpty else { return result }
            return Array((result + pending).sorted(by: Commit.listedBefore).prefix(limit))
        }
    }

    public nonisolated(nonsending) func history(of fingerprint: Fingerprint) async throws(CashetError) -> [Commit] {
        let journaled = try journaledForListing()
        return try reading("reading the history of \(fingerprint)") { txn in
            let result = try tables.layout.history(fingerprint, txn)
            return result + (try unapplied(journaled, txn).filter { $0.fingerprint == fingerprint })
        }
    }

    public nonisolated(nonsending) func resolveCommit(_ prefix: HashPrefix) async throws(CashetError) -> ContentHash {
        let journaled = try journaledForListing()
        let candidates = try reading("resolving hash prefix \(prefix)") { txn in
            let found = try unapplied(journaled, txn).map(\.hash).filter { prefix.matches($0.bytes) }
            return found + (try tables.layout.candidates(prefix, limit: 10 - found.count, txn))
        }
        return try prefix.single(of: candidates, more: candidates.count == 10, in: path)
    }

    public nonisolated(nonsending) func commitsProducing(_ prefix: HashPrefix) async throws(CashetError) -> [Commit] {
        let journaled = try journaledForListing()
        let producers = try reading("finding the commits of result \(prefix)") { txn in
            // A full hash that no blob row and no inline result names needs no walk.
            if let full = prefix.fullHash, try txn.get(tables.blobInfo, full.bytes) == nil, try tables.layout.inlineReferences(full, txn) == 0,
               !journaled.contains(where: { $0.output?.hash == full }) {
                return [Commit]()
            }
            var found: [Commit] = []
            try tables.layout.forEachCommit(txn) { _, decoded, _ in
                if case .success(let commit) = decoded, let output = commit.output, prefix.matches(output.hash.bytes) { found.append(commit) }
            }
            return found + (try unapplied(journaled, txn).filter { $0.output.map { prefix.matches($0.hash.bytes) } == true })
        }
        return try Self.single(result: prefix, producers, in: path)
    }

    public nonisolated(nonsending) func stats() async throws(CashetError) -> StoreStats {
        // Exact once the journal is applied; a store that cannot apply it (read-only, or a full
        // map) adds the journal's commits to the commit counts.
        if !configuration.readOnly { try? flushJournal() }
        let journaled = try journaledForListing()
        return try reading("reading store statistics") { txn in
            var counters = try txn.get(tables.meta, Self.countersKey).map { bytes throws(CashetError) in try StoreRecords.Counters(bytes) } ?? .init()
            let pending = try unapplied(journaled, txn)
            for commit in pending { counters.count(commit.status, +1) }
            func edge(_ operation: LMDBCursorOperation) throws -> Date? {
                try txn.withCursor(tables.timeline) { cursor in
                    try cursor.move(operation).map { entry throws(CashetError) in try StoreRecords.date(fromTimeBytes: entry.key.prefix(8)) }
                }
            }
            let newest = try pending.last?.createdAt ?? edge(.last)
            var usage = try readUsage(txn) ?? CallUsage()   // damaged: fsck reports it
            let counted = accessLog.pendingCalls
            usage.hits &+= counted.hits
            usage.misses &+= counted.misses
            return StoreStats(
                hits: Int(clamping: usage.hits), misses: Int(clamping: usage.misses),
                commits: counters.commits, completed: counters.completed, failed: counters.failed,
                functions: counters.functions, blobs: counters.blobs, fileBlobs: counters.fileBlobs,
                logicalBytes: counters.logicalBytes, storedBytes: counters.storedBytes,
                diskBytes: env.usedBytes, oldest: try edge(.first), newest: newest)
        }
    }
}

extension LMDBStore {
    /// Whether the store holds the blob (one lookup; the tiered store asks before streaming it).
    package func hasBlob(_ hash: ContentHash) throws(CashetError) -> Bool {
        if try journaled({ $0.results.contains(hash) ? true : nil }) == true { return true }
        return try reading("looking up blob \(hash.shortHex)") { txn in
            try txn.get(tables.blobInfo, hash.bytes) != nil || tables.layout.inlineResult(hash, txn) != nil
        }
    }

    /// The stored bytes of all blobs, from the counters (what bounds a tiered store's local tier).
    package func storedBytes() throws(CashetError) -> Int {
        try reading("reading store counters") { txn in try readCounters(txn).storedBytes }
    }
}
