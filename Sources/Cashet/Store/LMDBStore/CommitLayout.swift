import Foundation

/// Where an LMDB store keeps its commits, their calls' heads and each call's history: schema 1's
/// tables (``V1CommitLayout``) or schema 2's (``V2CommitLayout``). Everything else (blobs, the
/// time, tag and function-name indexes, function records, counters) is the store's, shared by
/// both, so one write path and one read path serve either schema.
protocol CommitLayout: Sendable {
    /// The schema this layout is.
    var schema: LMDBStore.Schema { get }

    /// The head of a call, read in place; with `inline`, also a result the head row holds itself.
    func head(_ fingerprint: Fingerprint, _ txn: LMDBTransaction) throws -> (head: CommitHead, inline: [UInt8]?)?

    /// A commit by hash, with its function's source joined; with `verified`, refused
    /// (`.corruptData`) unless its record hashes to `hash`.
    func commit(_ hash: ContentHash, verified: Bool, _ txn: LMDBTransaction) throws -> Commit?

    /// Whether the store holds the commit.
    func contains(_ hash: ContentHash, _ txn: LMDBTransaction) throws -> Bool

    /// Stores a commit whose record is made, as its call's head unless `keepNewerHead` finds a
    /// newer head (an imported commit); the rest of its history keeps the previous head. Returns
    /// true when `inline` is given and no other commit holds that result (it counts as a new blob).
    func insert(_ commit: Commit, record: [UInt8], function: StoredFunction, inline: [UInt8]?, keepNewerHead: Bool, _ txn: LMDBTransaction) throws -> Bool

    /// Removes a commit (its head falls back to the newest commit left of its call); returns it,
    /// decoded without verification, or nil when the store does not hold it.
    func remove(_ hash: ContentHash, _ txn: LMDBTransaction) throws -> RemovedCommit?

    /// The bytes of a result a commit row holds itself (schema 2's small results), by its hash.
    func inlineResult(_ hash: ContentHash, _ txn: LMDBTransaction) throws -> [UInt8]?

    /// How many commits hold the inline result `hash` (0 when none, or when results are not inline).
    func inlineReferences(_ hash: ContentHash, _ txn: LMDBTransaction) throws -> Int

    /// A commit's key in the time-ordered indexes (the `timeline`, and the values of `tags` and
    /// `functions`): its time (``StoreRecords/timeBytes(_:)``, so byte order is time order), then
    /// its hash, which schema 2 shortens to 8 bytes (its `ids` give the rest).
    func timeKey(_ createdAt: Date, _ hash: ContentHash) -> [UInt8]

    /// The commit a time key names: nil when the store holds none (schema 2), or when the key
    /// is malformed. Schema 1 reads the hash from the key alone.
    func commitHash(fromTimeKey key: [UInt8], _ txn: LMDBTransaction) throws -> ContentHash?

    /// Results of at most this many bytes are kept in their commit's row (-1: none are, not even empty ones).
    var inlineResultLimit: Int { get }

    /// Every commit of a call, oldest first.
    func history(_ fingerprint: Fingerprint, _ txn: LMDBTransaction) throws -> [Commit]

    /// Up to `limit` commit hashes matching `prefix`, in hash order.
    func candidates(_ prefix: HashPrefix, limit: Int, _ txn: LMDBTransaction) throws -> [ContentHash]

    /// Whether any commit of the function is left.
    func functionHasCommits(_ functionHash: ContentHash, _ txn: LMDBTransaction) throws -> Bool

    /// The function's id in the layout's keys, when it uses one (created when missing, with
    /// the name and version its rows are relative to).
    func functionID(_ functionHash: ContentHash, name: String, version: String, _ txn: LMDBTransaction) throws -> UInt32?

    // MARK: Checks and repairs

    /// Every commit the layout holds, in one pass over this snapshot: its hash (nil when even
    /// that is unreadable) and the commit, verified against its hash, or why it cannot be trusted.
    func forEachCommit(_ txn: LMDBTransaction, _ body: (ContentHash?, Result<Commit, CashetError>, _ inline: Bool) throws -> Void) throws

    /// Removes the rows of a commit that does not decode (true when there were any); its index
    /// rows are left to ``LMDBStore/indexFixes(_:skipping:)``, which finds them naming no commit.
    @discardableResult
    func removeDamaged(_ hash: ContentHash, _ txn: LMDBTransaction) throws -> Bool

    /// Removes the commit rows that do not even say which commit they hold (a key or value that
    /// does not decode: no hash to remove them by); returns how many.
    func removeUnreadableRows(_ txn: LMDBTransaction) throws -> Int

    /// Differences between the rows the layout derives from its commits (schema 1: heads;
    /// schema 2: the locations in `ids`) and the commits `sound` gives (nil: gone or doomed).
    func derivedRowFixes(_ txn: LMDBTransaction, skipping doomed: Set<ContentHash>,
                         sound: (ContentHash) throws -> Commit?) throws -> [LMDBStore.IndexFix]

    /// The commits the time keys name once `fixes` (from ``derivedRowFixes(_:skipping:sound:)``)
    /// are applied, where ``commitHash(fromTimeKey:_:)`` cannot find them before (schema 2: a
    /// lost `ids` row), so that their index rows are not taken for stale ones.
    func timeKeys(restoredBy fixes: [LMDBStore.IndexFix]) -> [[UInt8]: ContentHash]
}

extension CommitLayout {
    /// Up to `limit` keys of `table` (keyed by commit hash) matching `prefix`, in hash order.
    static func hashKeys(of table: LMDBDatabase, matching prefix: HashPrefix, limit: Int, _ txn: LMDBTransaction) throws -> [ContentHash] {
        var found: [ContentHash] = []
        try txn.withCursor(table) { cursor in
            var entry = try cursor.move(.setRange, key: prefix.lowerBound)
            while let current = entry, prefix.matches(current.key), found.count < limit {
                found.append(try ContentHash(bytes: current.key))
                entry = try cursor.move(.next)
            }
        }
        return found
    }
}

/// A commit a layout removed, and whether it held its result inline.
struct RemovedCommit {
    let commit: Commit
    /// The commit held its result in its row.
    let inline: Bool
    /// That result is gone with it (no other commit held it).
    let inlineResultGone: Bool
}

/// A function's record as stored (the name and version of the commit that first recorded it),
/// and its id where the layout keys rows by one.
struct StoredFunction: Sendable {
    let hash: ContentHash
    let name: String
    let version: String
    let id: UInt32?
}
