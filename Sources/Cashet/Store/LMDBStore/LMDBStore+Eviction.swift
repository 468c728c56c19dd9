import Foundation

/// `gc`: age- and size-based eviction. One plan, made in one read snapshot, serves both the
/// dry run (which reports it) and the real run (which removes the planned commits in batches).
extension LMDBStore {
    public nonisolated(nonsending) func evict(_ policy: EvictionPolicy, dryRun: Bool) async throws(CashetError) -> EvictionReport {
        if let limit = policy.maxStoredBytes, limit < 0 {
            throw CashetError(.invalidArgument, "the size limit must be zero or more bytes, got \(limit)")
        }
        if !dryRun && !configuration.readOnly { try flushAccessLog() }
        let plan = try planEviction(policy)
        if dryRun { return plan.report + (try await sweepLeftoverFiles(dryRun: true)) }
        var report = EvictionReport()
        // Batches keep each write transaction (and the dirty pages it holds) bounded.
        for start in stride(from: 0, to: plan.commits.count, by: 1000) {
            let batch = plan.commits[start..<min(start + 1000, plan.commits.count)]
            report = report + (try await writingRemovals("evicting \(batch.count) commit(s)") { txn, state in
                var removed = EvictionReport()
                for hash in batch { removed = removed + (try removeCommit(hash, txn, &state)) }
                return removed
            })
        }
        return report + (try await sweepUnreferencedBlobs()) + (try await sweepLeftoverFiles())
    }

    /// Commits to remove, in order, and what removing them (and the unreferenced blobs) frees.
    struct EvictionPlan {
        var commits: [ContentHash] = []
        var report = EvictionReport()
    }

    /// Plans an eviction: commits older than the cutoff, oldest first; then, while the stored
    /// bytes left exceed the limit, the least recently used of the rest. Freed bytes are simulated
    /// with the blobs' reference counts, so a blob shared with a kept commit is not counted.
    func planEviction(_ policy: EvictionPolicy) throws(CashetError) -> EvictionPlan {
        try reading("planning an eviction") { txn in
            var plan = EvictionPlan()
            var references: [ContentHash: StoreRecords.BlobInfo] = [:]
            var storedBytes = try readCounters(txn).storedBytes

            func free(_ info: StoreRecords.BlobInfo) {
                plan.report = plan.report + EvictionReport(blobsRemoved: 1, bytesFreed: info.size, storedBytesFreed: info.storedSize)
                storedBytes -= info.storedSize
            }
            func remove(_ commit: ContentHash) throws {
                plan.commits.append(commit)
                plan.report.commitsRemoved += 1
                guard let raw = try txn.get(tables.commits, commit.bytes),
                      let output = try CanonicalCommit.decodeCommit(hash: commit, raw, source: nil).output else { return }
                guard var info = try references[output.hash] ?? txn.get(tables.blobInfo, output.hash.bytes).map(StoreRecords.BlobInfo.init) else { return }
                info.references -= 1
                references[output.hash] = info
                if info.references == 0 { free(info) }
            }

            try txn.forEach(tables.unreferenced) { key, _ in
                if let raw = try txn.get(tables.blobInfo, key), case let info = try StoreRecords.BlobInfo(raw), info.references == 0 { free(info) }
            }
            let cutoff = policy.olderThan.map(StoreRecords.timeBytes)
            var kept: [(lastUsed: UInt64, commit: ContentHash)] = []
            let sizeLimit = policy.maxStoredBytes
            try txn.withCursor(tables.timeline) { cursor in
                var entry = try cursor.move(.first)
                while let key = entry?.key {
                    let commit = try StoreRecords.commitHash(fromTimeKey: key)
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
            guard let sizeLimit, storedBytes > sizeLimit else { return plan }
            kept.sort { ($0.lastUsed, $0.commit) < ($1.lastUsed, $1.commit) }
            for entry in kept where storedBytes > sizeLimit { try remove(entry.commit) }
            return plan
        }
    }
}
