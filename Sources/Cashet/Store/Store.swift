import Foundation

/// What a store records for a new execution; the store assigns its hash and parent.
public struct CommitDraft: Sendable, Hashable {
    /// Which call ran.
    public var fingerprint: Fingerprint
    /// What ran (name, identity, source, argument snapshot).
    public var task: TaskDefinition
    /// Completed or failed.
    public var status: CommitStatus
    /// The error text when failed.
    public var error: String?
    /// When the execution finished.
    public var createdAt: Date
    /// Metadata, not part of the key.
    public var tags: [String: String]

    /// Creates a draft.
    public init(fingerprint: Fingerprint, task: TaskDefinition, status: CommitStatus, error: String? = nil, createdAt: Date, tags: [String: String] = [:]) {
        self.fingerprint = fingerprint
        self.task = task
        self.status = status
        self.error = error
        self.createdAt = createdAt
        self.tags = tags
    }
}

/// One commit to record in a batch: what ran, and its serialized result (nil when it failed).
public struct CommitEntry: Sendable {
    /// What ran.
    public var draft: CommitDraft
    /// The result's bytes.
    public var output: [UInt8]?

    /// Creates an entry.
    public init(_ draft: CommitDraft, output: [UInt8]?) {
        self.draft = draft
        self.output = output
    }
}

/// The exclusive right, among every process sharing a store, to run one call (a fingerprint).
/// It ends when released, or when the process holding it dies (at once for ``LMDBStore``'s
/// file locks; for a network store, once the lease's expiry passes without a heartbeat).
public protocol CallLease: Sendable {
    /// Gives the right up; calling it again does nothing.
    func release()
}

/// Where cashet keeps blobs and commits. ``LMDBStore`` is the default; any conforming type
/// can be passed to `Client(store:)`.
///
/// Implementations must be safe to call from many tasks at once, must make `record`
/// atomic (blob, commit and indexes together), and should answer `head(for:)` without
/// writing: it is the cache-hit path.
public protocol Store: Sendable {
    /// Stores bytes as a content-addressed blob (a no-op if present). A blob that no commit
    /// references is removed by the next `evict`.
    nonisolated(nonsending) func putBlob(_ bytes: [UInt8]) async throws(CashetError) -> ObjectRef
    /// The bytes of a blob; throws `.notFound` if absent.
    nonisolated(nonsending) func blob(_ hash: ContentHash) async throws(CashetError) -> [UInt8]
    /// Atomically stores `output` (if any) and a new commit whose parent is the fingerprint's
    /// current head, and makes it the new head.
    nonisolated(nonsending) func record(_ draft: CommitDraft, output: [UInt8]?) async throws(CashetError) -> Commit
    /// Records many commits in one atomic transaction (group commit): one durable write for the
    /// batch instead of one per commit. Entries are applied in order, so a fingerprint that
    /// appears twice gets a parent chain. Returns the commits in the same order.
    nonisolated(nonsending) func recordBatch(_ entries: [CommitEntry]) async throws(CashetError) -> [Commit]
    /// Takes the lease on running `fingerprint`, or returns nil while another process holds it.
    /// A caller that gets a lease checks the head again, runs the call, records it, then releases.
    nonisolated(nonsending) func tryLease(_ fingerprint: Fingerprint) async throws(CashetError) -> (any CallLease)?
    /// Waits until the lease on `fingerprint` may have been released, at most `limit`: stores
    /// that can tell (a lease of this process) return early; the default just sleeps.
    nonisolated(nonsending) func waitForLease(_ fingerprint: Fingerprint, atMost limit: Duration) async
    /// The commit with this hash, or nil.
    nonisolated(nonsending) func commit(_ hash: ContentHash) async throws(CashetError) -> Commit?
    /// The commits with these hashes (nil where absent), read together where the store can: a
    /// network store answers in one round trip. The default asks ``commit(_:)`` for each.
    nonisolated(nonsending) func commits(_ hashes: [ContentHash]) async throws(CashetError) -> [Commit?]
    /// The newest commit of a fingerprint, reduced to what a cache hit needs.
    nonisolated(nonsending) func head(for fingerprint: Fingerprint) async throws(CashetError) -> CommitHead?
    /// The newest commit of a fingerprint and, when the store reads them in the same lookup, its
    /// result's bytes (``LMDBStore``: results up to 4 KiB kept in the database). `submit`'s hit
    /// path: the ``ResultRef`` it returns then loads without asking the store again. The default
    /// asks ``head(for:)`` and leaves the bytes to ``blob(_:)``.
    nonisolated(nonsending) func headAndOutput(for fingerprint: Fingerprint) async throws(CashetError) -> (head: CommitHead, output: [UInt8]?)?
    /// The heads of many fingerprints, read in one snapshot (`map`'s hit path); nil where none.
    nonisolated(nonsending) func heads(for fingerprints: [Fingerprint]) async throws(CashetError) -> [CommitHead?]
    /// The bytes of many blobs, read in one snapshot.
    nonisolated(nonsending) func blobs(_ hashes: [ContentHash]) async throws(CashetError) -> [[UInt8]]
    /// Commits matching `query`, newest first.
    nonisolated(nonsending) func commits(matching query: CommitQuery) async throws(CashetError) -> [Commit]
    /// Every commit of a fingerprint, oldest first.
    nonisolated(nonsending) func history(of fingerprint: Fingerprint) async throws(CashetError) -> [Commit]
    /// The one commit whose hash starts with `prefix`; `.notFound` or `.ambiguousHash` otherwise.
    nonisolated(nonsending) func resolveCommit(_ prefix: HashPrefix) async throws(CashetError) -> ContentHash
    /// The commits whose result's hash starts with `prefix` (a ``ResultRef/hash``, as a program
    /// prints it), newest first: `.notFound` when no result matches, `.ambiguousHash` when
    /// several do. ``LMDBStore`` keeps no index by result, so it reads every commit to answer.
    nonisolated(nonsending) func commitsProducing(_ prefix: HashPrefix) async throws(CashetError) -> [Commit]
    /// Store-wide counters.
    nonisolated(nonsending) func stats() async throws(CashetError) -> StoreStats
    /// Commits and result bytes by function name, and by creation day for the last `days` days
    /// with commits, from tallies kept on every write (never a scan of the commits). The
    /// default, for stores that keep none, is ``StoreBreakdown/untracked``.
    nonisolated(nonsending) func breakdown(days: Int) async throws(CashetError) -> StoreBreakdown
    /// Counts calls answered from the cache (`hits`) and calls that ran (`misses`), for
    /// ``StoreStats/hits`` and ``StoreStats/misses``. Synchronous and cheap: a store keeps the
    /// counts in memory and writes them with its next batch of writes (a hit writes nothing on
    /// its own), so a crash may lose the counts since then. The default counts nothing.
    func noteCalls(hits: Int, misses: Int)
    /// Removes the commits `policy` selects, then blobs nothing references. With `dryRun`, changes
    /// nothing and reports what would be removed. `progress`, when given, hears commits removed
    /// out of those planned.
    nonisolated(nonsending) func evict(_ policy: EvictionPolicy, dryRun: Bool, progress: ProgressHandler?) async throws(CashetError) -> EvictionReport
    /// Removes one commit (and its blob if nothing else references it).
    nonisolated(nonsending) func deleteCommit(_ hash: ContentHash) async throws(CashetError) -> EvictionReport
    /// What removing these commits with ``deleteCommit(_:)`` would remove and free, changing
    /// nothing (`cashet rm --dry-run`): a result counts as freed when no other commit, in the
    /// list or not, still uses it. `.notFound` when a commit is not in the store.
    nonisolated(nonsending) func plannedRemoval(of hashes: [ContentHash]) async throws(CashetError) -> EvictionReport
    /// Writes a blob's bytes to an open file descriptor, at its current position, leaving it
    /// open. ``LMDBStore`` streams large blobs with bounded memory; the default implementation
    /// loads, then writes. On an error, some bytes may have been written.
    nonisolated(nonsending) func exportBlob(_ hash: ContentHash, toFileDescriptor descriptor: Int32) async throws(CashetError)
    /// Adds a commit recorded elsewhere (`import`) with its hash, parent, times and tags intact;
    /// returns false when the store has it already. `output` holds the result's bytes when the
    /// archive carries them; nil means the store must have that blob already (`.corruptData`
    /// otherwise). The commit becomes its fingerprint's head only if it is newer than the head.
    nonisolated(nonsending) func importCommit(_ commit: Commit, output: [UInt8]?) async throws(CashetError) -> Bool
    /// Verifies every stored result and reference; with `repair`, removes what cannot be trusted
    /// (never a valid result) and fixes counts. See ``IntegrityReport``. `progress`, when given,
    /// hears records checked out of the records to check.
    nonisolated(nonsending) func check(repair: Bool, progress: ProgressHandler?) async throws(CashetError) -> IntegrityReport
    /// Releases what the store holds that is not released when it is deinitialized (network
    /// connections, for instance). ``LMDBStore`` needs nothing here: its environment closes
    /// when the last reference to it goes away.
    nonisolated(nonsending) func close() async
}

extension Store {
    public func noteCalls(hits: Int, misses: Int) {}

    public nonisolated(nonsending) func breakdown(days: Int) async throws(CashetError) -> StoreBreakdown { .untracked }

    /// The commits of `candidates` (commits whose result matches `prefix`), newest first, when
    /// they share one result; `.notFound` or `.ambiguousHash` otherwise. Every store's
    /// ``commitsProducing(_:)`` ends here.
    package static func single(result prefix: HashPrefix, _ candidates: [Commit], in location: String) throws(CashetError) -> [Commit] {
        let results = candidates.compactMap(\.output?.hash).uniqued()
        let result = try prefix.single(of: Array(results.prefix(10)), more: results.count > 10, in: location, noun: "result")
        return candidates.filter { $0.output?.hash == result }.sorted { ($0.createdAt, $0.hash.hex) > ($1.createdAt, $1.hash.hex) }
    }

    /// ``check(repair:progress:)`` without progress.
    public nonisolated(nonsending) func check(repair: Bool) async throws(CashetError) -> IntegrityReport {
        try await check(repair: repair, progress: nil)
    }

    /// ``evict(_:dryRun:progress:)`` without progress.
    public nonisolated(nonsending) func evict(_ policy: EvictionPolicy, dryRun: Bool) async throws(CashetError) -> EvictionReport {
        try await evict(policy, dryRun: dryRun, progress: nil)
    }

    /// Records the entries one by one: for stores without a batch write (not atomic as a batch).
    public nonisolated(nonsending) func recordBatch(_ entries: [CommitEntry]) async throws(CashetError) -> [Commit] {
        var commits: [Commit] = []
        for entry in entries { commits.append(try await record(entry.draft, output: entry.output)) }
        return commits
    }

    public nonisolated(nonsending) func waitForLease(_ fingerprint: Fingerprint, atMost limit: Duration) async {
        try? await Task.sleep(for: limit)
    }

    public nonisolated(nonsending) func commits(_ hashes: [ContentHash]) async throws(CashetError) -> [Commit?] {
        var commits: [Commit?] = []
        for hash in hashes { commits.append(try await commit(hash)) }
        return commits
    }

    public nonisolated(nonsending) func exportBlob(_ hash: ContentHash, toFileDescriptor descriptor: Int32) async throws(CashetError) {
        try PosixFile.writeAll(try await blob(hash), toDescriptor: descriptor)
    }

    /// The head alone: stores that cannot read a result with its head leave it to ``blob(_:)``.
    public nonisolated(nonsending) func headAndOutput(for fingerprint: Fingerprint) async throws(CashetError) -> (head: CommitHead, output: [UInt8]?)? {
        try await head(for: fingerprint).map { ($0, nil) }
    }

    /// The newest commit of a fingerprint (the original's `find_by_fingerprint`).
    public nonisolated(nonsending) func latestCommit(for fingerprint: Fingerprint) async throws(CashetError) -> Commit? {
        guard let head = try await head(for: fingerprint) else { return nil }
        return try await commit(head.commit)
    }
}
