import Foundation

/// Inspection and clean-up, the library side of `cashet log/show/get/diff/history/rm/gc/stats`.
/// Every `hash` accepts a unique prefix of at least 4 hex characters, like git. Where a result
/// will do (`get`), it may also be a result's hash (``ResultRef/hash``, which a program prints).
extension Client {
    /// Commits matching `query`, newest first.
    public nonisolated(nonsending) func log(_ query: CommitQuery = CommitQuery()) async throws(CashetError) -> [Commit] {
        try await store.commits(matching: query)
    }

    /// The full hash of the commit whose hash starts with `prefix`.
    public nonisolated(nonsending) func resolve(_ prefix: String) async throws(CashetError) -> ContentHash {
        try await store.resolveCommit(try HashPrefix(prefix))
    }

    /// The commit named by `hash` (a prefix is enough), with its function's source.
    public nonisolated(nonsending) func show(_ hash: String) async throws(CashetError) -> Commit {
        let full = try await resolve(hash)
        guard let commit = try await store.commit(full) else {
            throw CashetError(.notFound, "commit \(full.hex) disappeared while being read")
        }
        return commit
    }

    /// The commits that produced the result whose hash starts with `hash` (a ``ResultRef/hash``),
    /// newest first. ``LMDBStore`` reads every commit to answer.
    public nonisolated(nonsending) func commits(producing hash: String) async throws(CashetError) -> [Commit] {
        try await store.commitsProducing(try HashPrefix(hash))
    }

    /// The serialized output of the commit named by `hash`, or the result with that hash.
    public nonisolated(nonsending) func get(_ hash: String) async throws(CashetError) -> [UInt8] {
        try await store.blob(try await output(of: hash).hash)
    }

    /// The output of the commit named by `hash` (or the result with that hash), decoded as
    /// `type` by the client's serializer: what ``ResultRef/load()`` gave the program that ran it.
    public nonisolated(nonsending) func get<T: Decodable>(_ hash: String, as type: T.Type) async throws(CashetError) -> T {
        try serializer.decode(type, from: try await get(hash))
    }

    /// Writes the serialized output of the commit named by `hash` to the file at `path`. Large
    /// results stream through a bounded buffer. A regular file is replaced only once every byte
    /// is written and checked (through a temporary file beside it); a damaged result leaves
    /// `path` as it was. Devices and pipes (`/dev/null`, a FIFO) are written directly.
    public nonisolated(nonsending) func get(_ hash: String, to path: String) async throws(CashetError) {
        let output = try await output(of: hash)
        try await FileSystem.replacing(path, mode: 0o644) { file throws(CashetError) in
            try await store.exportBlob(output.hash, toFileDescriptor: file.descriptor)
        }
    }

    /// Writes the serialized output of the commit named by `hash` to an open descriptor (standard
    /// output, say), streaming large results; the descriptor stays open.
    public nonisolated(nonsending) func get(_ hash: String, toFileDescriptor descriptor: Int32) async throws(CashetError) {
        try await store.exportBlob(try await output(of: hash).hash, toFileDescriptor: descriptor)
    }

    /// The commit named by `hash`; when no commit is, the commits that produced the result with
    /// that hash (a ``ResultRef/hash``), newest first. Never empty: `.notFound` when neither matches.
    public nonisolated(nonsending) func commits(named hash: String) async throws(CashetError) -> [Commit] {
        do throws(CashetError) {
            return [try await show(hash)]
        } catch where error.code == .notFound {
            let noCommit = error
            do throws(CashetError) {
                return try await commits(producing: hash)
            } catch where error.code == .notFound {
                throw CashetError(.notFound, noCommit.message + ", nor any result")
            }
        }
    }

    /// The result of the commit named by `hash`, or the result with that hash.
    private nonisolated(nonsending) func output(of hash: String) async throws(CashetError) -> ObjectRef {
        try await commits(named: hash)[0].requiredOutput()
    }

    /// Verifies every stored result (SHA-256, size) and every reference; with `repair`, removes
    /// what cannot be trusted and fixes counts, never deleting a valid result.
    /// `progress` hears records checked out of the records to check.
    public nonisolated(nonsending) func fsck(repair: Bool = false, progress: ProgressHandler? = nil) async throws(CashetError) -> IntegrityReport {
        try await store.check(repair: repair, progress: progress)
    }

    /// What differs between two commits.
    public nonisolated(nonsending) func diff(_ a: String, _ b: String) async throws(CashetError) -> CommitDiff {
        CommitDiff(old: try await show(a), new: try await show(b))
    }

    /// Every commit of the same call (function and arguments) as `hash`, oldest first.
    public nonisolated(nonsending) func history(_ hash: String) async throws(CashetError) -> [Commit] {
        try await store.history(of: try await show(hash).fingerprint)
    }

    /// Deletes the commit named by `hash`, and its blob if nothing else references it.
    public nonisolated(nonsending) func rm(_ hash: String) async throws(CashetError) -> EvictionReport {
        try await store.deleteCommit(try await resolve(hash))
    }

    /// Deletes the commits named by `hashes`, and the blobs nothing else references; every hash is
    /// resolved first, so a typo in the last one removes nothing. With `dryRun`, changes nothing
    /// and reports what would be removed and freed.
    public nonisolated(nonsending) func rm(_ hashes: [String], dryRun: Bool = false) async throws(CashetError) -> EvictionReport {
        var resolved: [ContentHash] = []
        for hash in hashes { resolved.append(try await resolve(hash)) }
        return try await rm(resolved: resolved, dryRun: dryRun)
    }

    /// ``rm(_:dryRun:)`` of commits already resolved to their full hashes (the CLI prints them).
    package nonisolated(nonsending) func rm(resolved: [ContentHash], dryRun: Bool) async throws(CashetError) -> EvictionReport {
        if dryRun { return try await store.plannedRemoval(of: resolved) }
        var report = EvictionReport()
        for hash in resolved.uniqued() { report = report + (try await store.deleteCommit(hash)) }
        return report
    }

    /// Removes commits created before `cutoff` and every blob no commit references.
    public nonisolated(nonsending) func gc(olderThan cutoff: Date) async throws(CashetError) -> EvictionReport {
        try await store.evict(EvictionPolicy(olderThan: cutoff), dryRun: false)
    }

    /// Removes what `policy` selects (old commits, then least recently used ones beyond a size),
    /// unreferenced blobs and leftover files; with `dryRun`, only reports what would go.
    /// `progress` hears commits removed out of those planned.
    public nonisolated(nonsending) func gc(_ policy: EvictionPolicy, dryRun: Bool = false, progress: ProgressHandler? = nil) async throws(CashetError) -> EvictionReport {
        try await store.evict(policy, dryRun: dryRun, progress: progress)
    }

    /// Removes commits older than `days` days (30 by default, as the original's `gc()`) and
    /// unreferenced blobs.
    public nonisolated(nonsending) func gc(olderThanDays days: Double = 30) async throws(CashetError) -> EvictionReport {
        guard days >= 0, days.isFinite else { throw CashetError(.invalidArgument, "--older-than must be a non-negative number of days, got \(days)") }
        return try await gc(olderThan: Date().addingTimeInterval(-days * 86_400))
    }

    /// Store-wide counters (O(1)).
    public nonisolated(nonsending) func stats() async throws(CashetError) -> StoreStats {
        try await store.stats()
    }

    /// Commits and result bytes by function and by creation day (the last `days` days with
    /// commits), from the store's tallies: bounded by the number of functions and days, never
    /// a scan of the commits.
    public nonisolated(nonsending) func breakdown(days: Int = 365) async throws(CashetError) -> StoreBreakdown {
        try await store.breakdown(days: days)
    }
}
