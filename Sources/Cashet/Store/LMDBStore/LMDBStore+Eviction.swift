import Foundation

/// `gc`: age- and size-based eviction. One plan, made in one read snapshot, serves both the
/// dry run (which reports it) and the real run (which removes the planned commits in batches).
extension LMDBStore {
    public nonisolated(nonsending) func evict(_ policy: EvictionPolicy, dryRun: Bool, progress: ProgressHandler?) async throws(CashetError) -> EvictionReport {
        let policy = try policy.validated()
        try flushJournal()   // the plan sees every commit, journaled ones too
        if !dryRun && !configuration.readOnly { try flushAccessLog() }
        // Every commit older than the cutoff, and no size to reach: when the newest commit is
        // older too, the store empties without reading a commit.
        if !dryRun, policy.maxStoredBytes == nil, let cutoff = policy.olderThan.map(StoreRecords.timeBytes),
           let emptied = try await emptyIfEverything(where: { txn, _ in
               try txn.withCursor(tables.timeline) { cursor in try cursor.move(.last).map { $0.key.prefix(8).lexicographicallyPrecedes(cutoff) } ?? false }
           }) {
            return emptied + (try await sweepLeftoverFiles())
        }
        let plan = try planEviction(policy)
        if dryRun { return plan.report + (try await sweepLeftoverFiles(dryRun: true)) }
        if !plan.commits.isEmpty, let emptied = try await emptyIfEverything(planned: plan) {
            return emptied + (try await sweepLeftoverFiles())
        }
        var report = EvictionReport()
        // Batches keep each write transaction (and the dirty pages it holds) bounded, and large:
        // removals land at random keys, so a batch dirties most leaf pages of the tables it
        // touches, and each batch writes (and syncs) them again. 1,000 a batch made removing
        // 21,000 commits 21 rewrites of the tables; LMDB spills dirty pages beyond its limit.
        for start in stride(from: 0, to: plan.commits.count, by: Self.evictionBatch) {
            let batch = plan.commits[start..<min(start + Self.evictionBatch, plan.commits.count)]
            report = report + (try await writingRemovals("evicting \(batch.count) commit(s)") { txn, state in
                var removed = EvictionReport()
                for hash in batch { removed = removed + (try removeCommit(hash, txn, &state)) }
                return removed
            })
            progress?(start + batch.count, plan.commits.count)
        }
        return report + (try await sweepUnreferencedBlobs()) + (try await sweepLeftoverFiles())
    }

    /// When `plan` removes every commit of the store (a size limit of 0, say), empties it as
    /// ``emptyIfEverything(where:)`` does; nil when a commit is not in the plan (recorded since
    /// it was made).
    private func emptyIfEverything(planned plan: EvictionPlan) async throws(CashetError) -> EvictionReport? {
        let planned = Set(plan.commits)
        return try await emptyIfEverything { txn, state in
            guard state.counters.commits == planned.count else { return false }
            var everything = true
            try txn.withCursor(tables.timeline) { cursor in
                var entry = try cursor.move(.first)
                while let key = entry?.key {
                    guard let commit = try? tables.layout.commitHash(fromTimeKey: key, txn), planned.contains(commit) else { everything = false; return }
                    entry = try cursor.move(.next)
                }
            }
            return everything
        }
    }

    /// When `removesAll` says, inside the write transaction, that every commit goes, empties the
    /// store's tables in that transaction, each table's pages freed whole, instead of removing
    /// commit by commit (21,000 commits: 10 µs each, most of it B-tree deletes at random keys).
    /// Nil, having changed nothing, when it does not, or when a blob row does not say whether it
    /// names a file: those go the long way.
    private func emptyIfEverything(where removesAll: (LMDBTransaction, WriteState) throws -> Bool) async throws(CashetError) -> EvictionReport? {
        try await writingRemovals("emptying the store") { txn, state -> EvictionReport? in
            guard state.counters.commits > 0 else { return nil }
            var everything = try removesAll(txn, state)
            var files: [ContentHash] = []
            if everything, state.counters.fileBlobs > 0 {
                try txn.forEach(tables.blobs) { key, stored in
                    guard let hash = try? ContentHash(bytes: key), let location = try? StoreRecords.decodeBlobLocation(stored, hash: hash) else {
                        everything = false
                        return
                    }
                    if case .file = location { files.append(hash) }
                }
            }
            guard everything else { return nil }
            for table in tables.contents { try txn.empty(table) }
            if try keepsTallies(txn) { try rewriteTallies(TallyDelta(), txn) }
            let removed = state.counters
            state.counters = StoreRecords.Counters()
            state.filesToRemove = files
            return EvictionReport(commitsRemoved: removed.commits, blobsRemoved: removed.blobs,
                                  bytesFreed: removed.logicalBytes, storedBytesFreed: removed.storedBytes)
        }
    }

    public nonisolated(nonsending) func plannedRemoval(of hashes: [ContentHash]) async throws(CashetError) -> EvictionReport {
        try flushJournal()   // a journaled commit is in the store too
        return try reading("planning the removal of \(hashes.count) commit(s)") { txn in
            var plan = EvictionPlan(storedBytes: 0)
            for hash in hashes.uniqued() {
                guard let commit = try tables.layout.commit(hash, verified: false, txn) else { continue }
                try plan.remove(hash, output: commit.output?.hash) { _ in try resultUse(of: commit.output, txn) }
            }
            try plan.requireAll(of: hashes)
            return plan.report
        }
    }

    /// Commits removed per write transaction.
    static let evictionBatch = 25_000

    /// Plans an eviction: commits older than the cutoff, oldest first; then, while the stored
    /// bytes left exceed the limit, the least recently used of the rest.
    func planEviction(_ policy: EvictionPolicy) throws(CashetError) -> EvictionPlan {
        try reading("planning an eviction") { txn in
            var plan = EvictionPlan(storedBytes: try readCounters(txn).storedBytes)
            func remove(_ commit: ContentHash) throws {
                let output = try tables.layout.commit(commit, verified: false, txn)?.output
                try plan.remove(commit, output: output?.hash) { _ in try resultUse(of: output, txn) }
            }

            try txn.forEach(tables.unreferenced) { key, _ in
                if let raw = try txn.get(tables.blobInfo, key), case let info = try StoreRecords.BlobInfo(raw), info.references == 0 {
                    plan.free(size: info.size, storedSize: info.storedSize)
                }
            }
            let cutoff = policy.olderThan.map(StoreRecords.timeBytes)
            var kept: [(lastUsed: UInt64, commit: ContentHash)] = []
            let sizeLimit = policy.maxStoredBytes
            try txn.withCursor(tables.timeline) { cursor in
                var entry = try cursor.move(.first)
                while let key = entry?.key {
                    guard let commit = try tables.layout.commitHash(fromTimeKey: key, txn) else {
                        throw CashetError(.corruptData, "the timeline names a commit the store does not hold; `cashet fsck --repair` mends it")
                    }
                    let createdAt = Array(key.prefix(8))
                    if let cutoff, createdAt.lexicographicallyPrecedes(cutoff) {
                        try remove(commit)
                    } else if sizeLimit != nil {
                        kept.append((try lastUsed(commit, createdAt: createdAt, txn), commit))
                    } else {
                        break   // time order: nothing later is older than the cutoff
                    }
                    entry = try cursor.move(.next)
                }
            }
            guard plan.exceeds(sizeLimit) else { return plan }
            kept.sort { ($0.lastUsed, $0.commit) < ($1.lastUsed, $1.commit) }
            for entry in kept where plan.exceeds(sizeLimit) { try remove(entry.commit) }
            return plan
        }
    }

    /// A commit's result as an eviction plan counts it (nil: a failed or missing commit, or its
    /// result is gone).
    private func resultUse(of output: ObjectRef?, _ txn: LMDBTransaction) throws -> ResultUse? {
        guard let output else { return nil }
        guard let info = try txn.get(tables.blobInfo, output.hash.bytes).map(StoreRecords.BlobInfo.init) else {
            let holders = output.size <= tables.layout.inlineResultLimit ? try tables.layout.inlineReferences(output.hash, txn) : 0
            return holders == 0 ? nil : ResultUse(hash: output.hash, size: output.size, storedSize: output.size, references: holders)
        }
        return ResultUse(hash: output.hash, size: info.size, storedSize: info.storedSize, references: info.references)
    }
}
