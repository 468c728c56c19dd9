import Foundation

/// Upgrading a schema-1 store to schema 2 (docs/design/storage-v2.md §3): out of place, then one
/// rename, so a store killed at any point is either its old schema-1 file or a complete schema-2
/// file, never in between.
extension LMDBStore {
    /// What ``migrate(at:configuration:progress:)`` did.
    public struct MigrationReport: Hashable, Sendable {
        /// The schema the store had (2 when it needed no migration).
        public var fromSchema: UInt32 = 0
        /// Commits in the new file (every commit of the old one).
        public var commitsMigrated = 0
        /// Blobs read from the old file (small results among them now live in their commits' rows).
        public var blobsMigrated = 0
        /// Where the schema-1 file now is (inside the store directory; empty when nothing was
        /// migrated). Nothing reads it; remove it once the migrated store has served you.
        public var previousFile = ""
    }

    /// Upgrades the store at `path` to schema 2 (a store already there is left as it is).
    ///
    /// The journal is applied first; then every commit, result, function record and hit time is
    /// copied through schema 2's write path into a new `data.mdb` in a scratch directory, which is
    /// synced and renamed over the old one, kept as `data.mdb.v1-<time>`. Every commit must make
    /// it: if any record of the old file does not prove itself (a damaged store), nothing is
    /// changed and the error says to run `cashet fsck --repair` first. Result files in `objects/`
    /// are neither moved nor copied.
    ///
    /// Like ``rebuild(at:configuration:)``, it needs the store to itself (`.unavailable` when
    /// another process, or this one, has it open). `progress` is called after each batch with the
    /// commits copied so far and the total.
    public static func migrate(at path: String, configuration: Configuration = Configuration(),
                               progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil) throws(CashetError) -> MigrationReport {
        var settings = configuration
        settings.create = false
        settings.readOnly = false
        settings.migration = .manual
        var report = MigrationReport()
        let expected: StoreRecords.Counters
        do {
            // Opened and released again before the rewrite takes the store's lock.
            let store = try LMDBStore(path, configuration: settings)
            report.fromSchema = store.tables.layout.schema.rawValue
            guard store.tables.layout.schema == .v1 else { return report }
            try store.flushJournal()
            try store.flushAccessLog()
            if let problem = try store.structureProblems().first {
                throw CashetError(.corruptData, "the store at \(path) is damaged (\(problem.detail)); run `cashet fsck --repair` before migrating it")
            }
            expected = try store.reading("reading the counters of \(path)") { txn in try store.readCounters(txn) }
        }
        let rewritten = try rewrite(at: path, configuration: configuration, schema: .v2, keepingOldAs: "data.mdb.v1-", progress: progress) { rewritten throws(CashetError) in
            guard rewritten.commitsLost == 0, rewritten.commitsKept == expected.commits else {
                throw CashetError(.corruptData, "migrating \(path) would keep \(rewritten.commitsKept) of its \(expected.commits) commits (the others' records or results do not prove themselves); nothing was changed: run `cashet fsck --repair` first")
            }
        }
        report.commitsMigrated = rewritten.commitsKept
        report.blobsMigrated = rewritten.blobsKept
        report.previousFile = rewritten.damagedFile
        return report
    }
}
