import Foundation
import Logging
import Synchronization

/// A local ``LMDBStore`` in front of a shared remote store (a `PostgresStore`): hits are
/// answered locally in microseconds, and results computed on any machine become hits on all.
///
/// ```swift
/// let shared = try await PostgresStore(url: "postgresql://cashet@db.internal/cashet")
/// let store = TieredStore(local: try LMDBStore(".cashet"), remote: shared,
///                         configuration: .init(localLimit: 10 << 30))
/// let client = Client(store: store)
/// ```
///
/// - **Reads**: the local tier first. A fingerprint missing there is looked up remotely; when
///   found, its commit and result are copied into the local tier (one local write) before the
///   hit is returned. The local tier may go on serving a fingerprint's older commit after
///   another machine recorded a newer one (a forced re-run); both are valid results of the call.
/// - **Writes** go to the remote store first, then to the local tier. The remote write is the
///   acknowledgement: once `record` returns, every machine sees the commit. A crash between
///   the two leaves the commit only remotely, and the next lookup copies it down; a crash
///   before the remote write leaves nothing anywhere. So the local tier never holds a commit
///   the remote lacks (except one `gc` removed remotely, which is removed locally too).
/// - **Single-flight** uses the remote store's leases, so every machine runs a call once.
/// - **Remote unavailable**: hits the local tier has are still served. A local miss, and every
///   write, fails with the remote store's error (`.unavailable` once its retry budget is spent):
///   a result that only one machine could see is never acknowledged.
/// - **Bounded local tier**: with ``Configuration/localLimit``, once the local tier's stored
///   bytes pass the limit, a background eviction brings it back to 90 % of it, least recently
///   used first. Evicted results are fetched again from the remote store when asked for.
/// - Failures of the local tier after a remote operation succeeded do not fail the call (the
///   local tier is a cache); ``localFailures`` counts them.
/// - Listing, history, stats, `gc`, `rm` and `fsck` act on the remote store, the record of
///   truth; `gc` and `rm` then apply to the local tier too.
public final class TieredStore: Store {
    /// The local tier.
    public let local: LMDBStore
    /// The shared store.
    public let remote: any Store
    /// The limits of the local tier.
    public let configuration: Configuration
    /// Whether a trim of the local tier is running (one at a time).
    private let trimming = Atomic<Bool>(false)
    private let failures = Locked<(count: Int, last: CashetError?)>((0, nil))
    /// ``Configuration/logger`` with the local tier's path in its metadata.
    private let logger: Logger

    /// How the local tier is bounded.
    public struct Configuration: Sendable {
        /// Most stored bytes the local tier keeps (``StoreStats/storedBytes``); nil for no limit.
        public var localLimit: Int?
        /// Where a local-tier step that failed after the remote one succeeded is reported
        /// (`warning`; the call itself succeeds). Quiet by default.
        public var logger: Logger

        /// Creates a configuration.
        public init(localLimit: Int? = nil, logger: Logger = .cashetQuiet) {
            self.localLimit = localLimit
            self.logger = logger
        }
    }

    /// Puts `local` in front of `remote`.
    public init(local: LMDBStore, remote: any Store, configuration: Configuration = Configuration()) {
        self.local = local
        self.remote = remote
        self.configuration = configuration
        logger = configuration.logger.with("store", local.path)
    }

    /// How many times filling or trimming the local tier failed after the remote operation
    /// succeeded, and the last such error.
    public var localFailures: (count: Int, last: CashetError?) { failures.withLock { $0 } }

    // MARK: Reads

    public nonisolated(nonsending) func head(for fingerprint: Fingerprint) async throws(CashetError) -> CommitHead? {
        try await heads(for: [fingerprint])[0]
    }

    public nonisolated(nonsending) func heads(for fingerprints: [Fingerprint]) async throws(CashetError) -> [CommitHead?] {
        var heads = try await local.heads(for: fingerprints)
        let missing = heads.indices.filter { heads[$0] == nil }
        guard !missing.isEmpty else { return heads }
        let remoteHeads = try await remote.heads(for: missing.map { fingerprints[$0] })
        var found: [CommitHead] = []
        for (index, head) in zip(missing, remoteHeads) {
            heads[index] = head
            if let head { found.append(head) }
        }
        if !found.isEmpty { try await copyDown(found) }
        return heads
    }

    /// Copies remote commits and their results into the local tier, in one local write.
    private nonisolated(nonsending) func copyDown(_ heads: [CommitHead]) async throws(CashetError) {
        let commits = try await remote.commits(heads.map(\.commit)).compactMap { $0 }
        let outputs = commits.compactMap(\.output?.hash)
        let bytes = try await remote.blobs(outputs)
        var byHash: [ContentHash: [UInt8]] = [:]
        for (hash, blob) in zip(outputs, bytes) { byHash[hash] = blob }
        await writeLocally(commits.map { ($0, $0.output.flatMap { byHash[$0.hash] }) })
    }

    public nonisolated(nonsending) func blob(_ hash: ContentHash) async throws(CashetError) -> [UInt8] {
        try await blobs([hash])[0]
    }

    public nonisolated(nonsending) func blobs(_ hashes: [ContentHash]) async throws(CashetError) -> [[UInt8]] {
        do {
            return try await local.blobs(hashes)
        } catch {
            guard error.code == .notFound else { throw error }
            return try await remote.blobs(hashes)
        }
    }

    public nonisolated(nonsending) func commit(_ hash: ContentHash) async throws(CashetError) -> Commit? {
        if let commit = try await local.commit(hash) { return commit }
        return try await remote.commit(hash)
    }

    public nonisolated(nonsending) func commits(matching query: CommitQuery) async throws(CashetError) -> [Commit] {
        try await remote.commits(matching: query)
    }

    public nonisolated(nonsending) func history(of fingerprint: Fingerprint) async throws(CashetError) -> [Commit] {
        try await remote.history(of: fingerprint)
    }

    public nonisolated(nonsending) func resolveCommit(_ prefix: HashPrefix) async throws(CashetError) -> ContentHash {
        try await remote.resolveCommit(prefix)
    }

    public nonisolated(nonsending) func stats() async throws(CashetError) -> StoreStats {
        try await remote.stats()
    }

    public nonisolated(nonsending) func breakdown(days: Int) async throws(CashetError) -> StoreBreakdown {
        try await remote.breakdown(days: days)
    }

    /// Counted by the remote store, whose ``stats()`` this store reports.
    public func noteCalls(hits: Int, misses: Int) {
        remote.noteCalls(hits: hits, misses: misses)
    }

    public nonisolated(nonsending) func check(repair: Bool, progress: ProgressHandler?) async throws(CashetError) -> IntegrityReport {
        try await remote.check(repair: repair, progress: progress)
    }

    public nonisolated(nonsending) func exportBlob(_ hash: ContentHash, toFileDescriptor descriptor: Int32) async throws(CashetError) {
        if try local.hasBlob(hash) {
            try await local.exportBlob(hash, toFileDescriptor: descriptor)
        } else {
            try await remote.exportBlob(hash, toFileDescriptor: descriptor)
        }
    }

    // MARK: Writes

    public nonisolated(nonsending) func putBlob(_ bytes: [UInt8]) async throws(CashetError) -> ObjectRef {
        try await remote.putBlob(bytes)
    }

    public nonisolated(nonsending) func record(_ draft: CommitDraft, output: [UInt8]?) async throws(CashetError) -> Commit {
        try await recordBatch([CommitEntry(draft, output: output)])[0]
    }

    public nonisolated(nonsending) func recordBatch(_ entries: [CommitEntry]) async throws(CashetError) -> [Commit] {
        let commits = try await remote.recordBatch(entries)
        await writeLocally(zip(commits, entries).map { ($0, $1.output) })
        return commits
    }

    public nonisolated(nonsending) func importCommit(_ commit: Commit, output: [UInt8]?) async throws(CashetError) -> Bool {
        let added = try await remote.importCommit(commit, output: output)
        if output != nil || commit.output == nil { await writeLocally([(commit, output)]) }
        return added
    }

    public nonisolated(nonsending) func tryLease(_ fingerprint: Fingerprint) async throws(CashetError) -> (any CallLease)? {
        try await remote.tryLease(fingerprint)
    }

    public nonisolated(nonsending) func waitForLease(_ fingerprint: Fingerprint, atMost limit: Duration) async {
        await remote.waitForLease(fingerprint, atMost: limit)
    }

    public nonisolated(nonsending) func evict(_ policy: EvictionPolicy, dryRun: Bool, progress: ProgressHandler?) async throws(CashetError) -> EvictionReport {
        let report = try await remote.evict(policy, dryRun: dryRun, progress: progress)
        if !dryRun { await localAfterRemote("evict") { () throws(CashetError) in _ = try await self.local.evict(policy, dryRun: false) } }
        return report
    }

    public nonisolated(nonsending) func commitsProducing(_ prefix: HashPrefix) async throws(CashetError) -> [Commit] {
        try await remote.commitsProducing(prefix)
    }

    public nonisolated(nonsending) func plannedRemoval(of hashes: [ContentHash]) async throws(CashetError) -> EvictionReport {
        try await remote.plannedRemoval(of: hashes)
    }

    public nonisolated(nonsending) func deleteCommit(_ hash: ContentHash) async throws(CashetError) -> EvictionReport {
        let report = try await remote.deleteCommit(hash)
        await localAfterRemote("delete") { () throws(CashetError) in _ = try await self.local.deleteCommit(hash) }
        return report
    }

    public nonisolated(nonsending) func close() async {
        await local.close()
        await remote.close()
    }

    // MARK: The local tier

    /// Copies commits the remote store has into the local tier, then trims it if it is over its limit.
    private nonisolated(nonsending) func writeLocally(_ items: [(commit: Commit, output: [UInt8]?)]) async {
        await localAfterRemote("copy down") { () throws(CashetError) in _ = try await self.local.importCommits(items) }
        trimIfNeeded()
    }

    /// Runs a local-tier step that follows a successful remote one, counting and logging its
    /// failure instead of failing the call.
    private nonisolated(nonsending) func localAfterRemote(_ operation: String, _ step: () async throws(CashetError) -> Void) async {
        do {
            try await step()
        } catch {
            failures.withLock { $0 = ($0.count + 1, error) }
            logger.warning("local tier not updated; the remote store has the change", metadata: ["operation": "\(operation)", "error": "\(error)"])
        }
    }

    /// Starts one background eviction of the local tier when it holds more than its limit.
    private func trimIfNeeded() {
        guard let limit = configuration.localLimit else { return }
        let stored: Int
        do { stored = try local.storedBytes() } catch {
            logger.warning("local tier's size unreadable; not trimmed", metadata: ["error": "\(error)"])
            return
        }
        guard stored > limit else { return }
        guard !trimming.exchange(true, ordering: .acquiringAndReleasing) else { return }
        Task { [self] in
            await localAfterRemote("trim") { () throws(CashetError) in _ = try await local.evict(EvictionPolicy(maxStoredBytes: limit / 10 * 9), dryRun: false) }
            trimming.store(false, ordering: .releasing)
        }
    }
}
