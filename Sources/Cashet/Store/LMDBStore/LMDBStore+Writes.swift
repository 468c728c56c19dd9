import Foundation

extension LMDBStore {
    public nonisolated(nonsending) func putBlob(_ bytes: [UInt8]) async throws(CashetError) -> ObjectRef {
        try await writing(storing: bytes, "storing a blob of \(bytes.count) bytes") { txn, blob, state in
            try retainBlob(blob!, references: 0, txn, &state)
            return blob!.ref
        }
    }

    public nonisolated(nonsending) func record(_ draft: CommitDraft, output: [UInt8]?) async throws(CashetError) -> Commit {
        try await recordBatch([CommitEntry(draft, output: output)])[0]
    }

    public nonisolated(nonsending) func recordBatch(_ entries: [CommitEntry]) async throws(CashetError) -> [Commit] {
        let drafts = try CommitPlanner.drafts(of: entries)
        let outputs = entries.map(\.output)
        var prepared = try await prepareBlobs(outputs, reuse: true)
        if configuration.durability == .normal && entries.count <= Self.journalBatchLimit && Self.journalable(prepared) {
            try ensureManifests(of: drafts)
            if let commits = try recordJournaled(drafts, prepared) { return commits }
            prepared = try await prepareBlobs(outputs, reuse: false)   // a result found stored is gone
            if Self.journalable(prepared), let commits = try recordJournaled(drafts, prepared) { return commits }
        }
        return try await writing(prepared: prepared, of: outputs, CommitPlanner.action(recording: drafts)) { txn, blobs, state in
            var heads: [Fingerprint: ContentHash] = [:]
            for draft in drafts where heads[draft.fingerprint] == nil {
                heads[draft.fingerprint] = try tables.layout.head(draft.fingerprint, txn)?.head.commit
            }
            let planned = CommitPlanner.plan(drafts, outputs: blobs.map { $0?.ref }, heads: heads)
            for (commit, blob) in zip(planned, blobs) {
                try storeCommit(commit.commit, record: commit.record, blob: blob, keepNewerHead: false, txn, &state)
            }
            return planned.map(\.commit)
        }
    }

    /// Stores a commit whose record is made: a reference to its blob, its function's record (once
    /// per transaction), the commit as its call's head (left alone with `keepNewerHead` when the
    /// head is newer, as for an imported commit), the index rows and the counters.
    func storeCommit(_ commit: Commit, record: [UInt8], blob: PreparedBlob?, keepNewerHead: Bool, _ txn: LMDBTransaction, _ state: inout WriteState) throws {
        // Small results live in the commit's row where the layout keeps them there (schema 2).
        let inline = blob.flatMap { $0.ref.size <= tables.layout.inlineResultLimit ? $0.rawBytes : nil }
        if let blob, inline == nil { try retainBlob(blob, references: 1, txn, &state) }
        let function = try ensureFunction(commit.task, txn, &state)
        if try tables.layout.insert(commit, record: record, function: function, inline: inline, keepNewerHead: keepNewerHead, txn), let inline {
            state.counters.count(StoreRecords.BlobInfo(size: inline.count, storedSize: inline.count, references: 1), inFile: false, +1)
        }
        for entry in indexEntries(of: commit) { try txn.put(entry.table, entry.key, entry.value) }
        state.counters.count(commit.status, +1)
        state.tallies.count(commit, +1)
    }

    /// The function's record, written when missing (with the source and manifest, when the
    /// stored one lacks them and `task` brings them: an import, or a build with the plugin), and
    /// its id in the layout's keys. A stored record is read through the function-row cache, in
    /// place: this runs on every miss, and a manifest can be large.
    /// Writes the function rows of `drafts` whose identity carries a manifest straight to
    /// data.mdb, once per function for this instance. The journal's rows leave manifests out:
    /// every miss writes its function's row to the journal, and a manifest can list thousands
    /// of helpers; a read of a journaled commit joins the manifest from data.mdb. (Lost in a
    /// power cut before data.mdb syncs, a manifest is written again by the function's next
    /// miss in a new process; commits and results never depend on it.)
    func ensureManifests(of drafts: [CommitDraft]) throws(CashetError) {
        var pending: [ContentHash: TaskDefinition] = [:]
        for draft in drafts where draft.task.identityManifest != nil { pending[draft.task.functionHash] = draft.task }
        guard !pending.isEmpty else { return }
        let written = manifestsWritten.withLock { $0 }
        let tasks = pending.filter { !written.contains($0.key) }.values
        guard let first = tasks.first else { return }
        try writingState("recording the identity manifest of \(first.functionName)") { txn, state in
            for task in tasks { _ = try ensureFunction(task, txn, &state) }
        }
        manifestsWritten.withLock { $0.formUnion(tasks.map(\.functionHash)) }
    }

    private func ensureFunction(_ task: TaskDefinition, _ txn: LMDBTransaction, _ state: inout WriteState) throws -> StoredFunction {
        if let known = state.functions[task.functionHash] { return known }
        let key = task.functionHash.bytes
        var (name, version) = (task.functionName, task.functionVersion)
        if let stored = try tables.functionDetails.row(of: task.functionHash, in: tables.sources, txn) {
            // Rows of schema 2 store the name and version relative to the record: keep them
            // (schema 1 reads only the source and manifest from it).
            if tables.layout.schema != .v1 { (name, version) = (stored.name, stored.version) }
            let filled = stored.details.filled(from: task.details)
            if filled != stored.details {
                try txn.put(tables.sources, key, CanonicalCommit.encodeFunction(name: stored.name, version: stored.version, details: filled))
            }
        } else {
            try txn.put(tables.sources, key, CanonicalCommit.encodeFunction(task))
            state.counters.functions += 1
        }
        let function = StoredFunction(hash: task.functionHash, name: name, version: version, id: try tables.layout.functionID(task.functionHash, name: name, version: version, txn))
        state.functions[task.functionHash] = function
        return function
    }

    public nonisolated(nonsending) func tryLease(_ fingerprint: Fingerprint) async throws(CashetError) -> (any CallLease)? {
        guard let leases else { throw CashetError(.storage, "the store at \(path) is open read-only; it cannot run calls") }
        return try leases.tryAcquire(fingerprint)
    }

    public nonisolated(nonsending) func waitForLease(_ fingerprint: Fingerprint, atMost limit: Duration) async {
        guard let leases else { return }
        // Another process holds the call: if a holder died, its LMDB reader slot may be stale too.
        env.checkStaleReaders()
        await leases.waitForRelease(of: fingerprint, atMost: limit)
    }

    public nonisolated(nonsending) func deleteCommit(_ hash: ContentHash) async throws(CashetError) -> EvictionReport {
        try await writingRemovals("deleting commit \(hash.shortHex)") { txn, state in try removeCommit(hash, txn, &state) }
    }

    /// Removes files in `objects/` that hold no result (see ``BlobFiles/walk(isRecordedFile:)``);
    /// with `dryRun`, only counts them (without the lock: a file being published may be counted).
    /// Links are left for `fsck`, which reports them.
    nonisolated(nonsending) func sweepLeftoverFiles(dryRun: Bool = false) async throws(CashetError) -> EvictionReport {
        let find = { () throws(CashetError) -> [BlobFiles.Leftover] in
            try self.reading("finding leftover files in \(self.files.path)") { txn in
                try self.files.walk { hash in try self.isRecordedFile(hash, txn) }.leftovers
            }
        }
        if dryRun { return EvictionReport(leftoverFilesRemoved: try find().count) }
        return try await files.withLock { () throws(CashetError) -> EvictionReport in
            let leftovers = try find()
            for leftover in leftovers { try files.remove(leftover) }
            return EvictionReport(leftoverFilesRemoved: leftovers.count)
        }
    }

    /// Removes blobs stored with `putBlob` that no commit ever came to reference.
    nonisolated(nonsending) func sweepUnreferencedBlobs() async throws(CashetError) -> EvictionReport {
        try await writingRemovals("sweeping unreferenced blobs") { txn, state in
            var hashes: [[UInt8]] = []
            try txn.withCursor(tables.unreferenced) { cursor in
                var entry = try cursor.move(.first)
                while let current = entry {
                    hashes.append(current.key)
                    entry = try cursor.move(.next)
                }
            }
            var report = EvictionReport()
            for key in hashes {
                try txn.delete(tables.unreferenced, key)
                guard let raw = try txn.get(tables.blobInfo, key) else { continue }
                let info = try StoreRecords.BlobInfo(raw)
                if info.references == 0 { report = report + (try dropBlob(try ContentHash(bytes: key), info, txn, &state)) }
            }
            return report
        }
    }

    // MARK: - Pieces of a write transaction

    func readCounters(_ txn: LMDBTransaction) throws -> StoreRecords.Counters {
        guard let raw = try txn.get(tables.meta, Self.countersKey) else {
            throw CashetError(.corruptData, "the store at \(path) has no counters record")
        }
        return try StoreRecords.Counters(raw)
    }

    /// One row of a secondary index; the same list is used to add and to remove a commit.
    struct IndexEntry {
        let table: LMDBDatabase
        let key: [UInt8]
        let value: [UInt8]
        /// True in DUPSORT tables, where a delete must name the value too.
        let duplicate: Bool
    }

    func indexEntries(of commit: Commit) -> [IndexEntry] {
        let timeKey = tables.layout.timeKey(commit.createdAt, commit.hash)
        var entries = [
            IndexEntry(table: tables.timeline, key: timeKey, value: [], duplicate: false),
            IndexEntry(table: tables.functions, key: Array(commit.task.functionName.utf8), value: timeKey, duplicate: true),
        ]
        if tables.layout.schema == .v1 {
            entries.append(IndexEntry(table: tables.history, key: commit.fingerprint.bytes, value: timeKey, duplicate: true))
        }
        for (key, value) in commit.tags {
            entries.append(IndexEntry(table: tables.tags, key: StoreRecords.tagKey(key, value), value: timeKey, duplicate: true))
        }
        return entries
    }

    /// Removes a commit, its index rows, its head (falling back to the newest remaining commit of
    /// the call), its function record when it was the function's last commit, and its blob
    /// when it was the last reference.
    func removeCommit(_ hash: ContentHash, _ txn: LMDBTransaction, _ state: inout WriteState) throws -> EvictionReport {
        guard let removed = try tables.layout.remove(hash, txn) else { return EvictionReport() }
        let commit = removed.commit
        if let access = tables.access { try txn.delete(access, hash.bytes) }
        for entry in indexEntries(of: commit) {
            try txn.delete(entry.table, entry.key, value: entry.duplicate ? entry.value : nil)
        }
        if try !tables.layout.functionHasCommits(commit.fingerprint.functionHash, txn) {
            if try txn.delete(tables.sources, commit.fingerprint.functionHash.bytes) { state.counters.functions -= 1 }
        }
        state.counters.count(commit.status, -1)
        state.tallies.count(commit, -1)
        var report = EvictionReport(commitsRemoved: 1)
        if let output = commit.output {
            if !removed.inline {
                report = report + (try releaseBlob(output.hash, txn, &state))
            } else if removed.inlineResultGone {
                state.counters.count(StoreRecords.BlobInfo(size: output.size, storedSize: output.size, references: 0), inFile: false, -1)
                report = report + EvictionReport(blobsRemoved: 1, bytesFreed: output.size, storedBytesFreed: output.size)
            }
        }
        return report
    }
}
