/// The secondary indexes (`timeline`, `history`, `functions`, `tags`) and the heads, checked
/// against the commits they are derived from. A row that a damaged key or a half-removed commit
/// left behind makes `log` skip a commit or `history` miss one without any error; `fsck` finds it
/// here and `fsck --repair` rewrites the rows from the commits.
extension LMDBStore {
    /// One change that brings the indexes in line with the commits.
    struct IndexFix {
        enum Action {
            /// A row a commit needs is missing.
            case add
            /// A row names a commit that is gone, or one whose own rows differ.
            case remove
            /// A head is missing, names a missing commit, or one of another call.
            case repointHead
        }

        let action: Action
        let table: LMDBDatabase
        let tableName: String
        let key: [UInt8]
        /// The value of a row in a table of duplicates (nil for `timeline` and heads).
        let value: [UInt8]?
    }

    /// Every difference between the indexes and the commits of this transaction's snapshot.
    /// Commits in `skipping` are about to be removed: their rows and heads are neither expected
    /// nor reported (the removal takes care of them).
    func indexFixes(_ txn: LMDBTransaction, skipping doomed: Set<ContentHash>) throws -> [IndexFix] {
        var fixes: [IndexFix] = []
        var names = [(tables.timeline, "timeline"), (tables.functions, "functions"), (tables.tags, "tags")]
        if tables.layout.schema == .v1 { names.insert((tables.history, "history"), at: 1) }
        func name(_ table: LMDBDatabase) -> String { names.first { $0.0 == table }?.1 ?? "index" }

        /// Sound commits the store cannot find by hash until the derived fixes are applied.
        var unlocated: [ContentHash: Commit] = [:]
        /// The commit `hash` when it is sound and stays.
        func sound(_ hash: ContentHash) throws -> Commit? {
            guard !doomed.contains(hash) else { return nil }
            return unlocated[hash] ?? (try? tables.layout.commit(hash, verified: true, txn))
        }

        let derived = try tables.layout.derivedRowFixes(txn, skipping: doomed, sound: sound)
        let restored = tables.layout.timeKeys(restoredBy: derived)
        let restoredHashes = Set(restored.values)
        try tables.layout.forEachCommit(txn) { hash, decoded, _ in
            guard let hash, !doomed.contains(hash), case .success(let commit) = decoded else { return }
            if restoredHashes.contains(hash) { unlocated[hash] = commit }
            for entry in indexEntries(of: commit) where try !txn.contains(entry.table, entry.key, value: entry.duplicate ? entry.value : nil) {
                fixes.append(IndexFix(action: .add, table: entry.table, tableName: name(entry.table), key: entry.key, value: entry.value))
            }
        }
        for (table, tableName) in names {
            let duplicates = table != tables.timeline
            try txn.forEach(table) { key, value in
                let timeKey = duplicates ? value : key
                let named = restored[timeKey] ?? (try? tables.layout.commitHash(fromTimeKey: timeKey, txn)) ?? nil
                if let named, doomed.contains(named) { return }   // goes with its commit
                let owner = try named.flatMap(sound)
                let expected = owner.map { indexEntries(of: $0) } ?? []
                if !expected.contains(where: { $0.table == table && $0.key == key && $0.value == (duplicates ? value : []) }) {
                    fixes.append(IndexFix(action: .remove, table: table, tableName: tableName, key: key, value: duplicates ? value : nil))
                }
            }
        }
        return fixes + derived
    }

    /// Applies index fixes: rows first, then heads (which are chosen from the `history` rows).
    func apply(_ fixes: [IndexFix], _ txn: LMDBTransaction) throws -> [String] {
        var added = 0, removed = 0, repointed = 0
        var dropped = 0
        for fix in fixes {
            switch fix.action {
            case .add:
                try txn.put(fix.table, fix.key, fix.value ?? [])
                added += 1
            case .remove:
                // A duplicate whose flipped bytes put it out of order cannot be found by value:
                // the key's rows all go, and the pass below writes the sound ones again.
                if try !txn.delete(fix.table, fix.key, value: fix.value), fix.value != nil, try txn.delete(fix.table, fix.key) { dropped += 1 }
                removed += 1
            case .repointHead: continue
            }
        }
        if dropped > 0 {
            for fix in try indexFixes(txn, skipping: []) where fix.action == .add { try txn.put(fix.table, fix.key, fix.value ?? []) }
        }
        for fix in fixes where fix.action == .repointHead {
            try v1Layout().restoreHead(fix.key, txn)
            repointed += 1
        }
        var lines: [String] = []
        if added > 0 { lines.append("added \(added) missing index row(s)") }
        if removed > 0 { lines.append("removed \(removed) index row(s) naming no commit that has them") }
        if repointed > 0 { lines.append("repointed \(repointed) head(s) at the newest remaining commit of their call") }
        return lines
    }

    /// The problem a fix answers, for the report.
    static func problem(_ fix: IndexFix) -> IntegrityReport.Problem {
        switch fix.action {
        case .add:
            IntegrityReport.Problem(kind: .missingIndexEntry, subject: fix.tableName, detail: "a commit's row is missing (\(Self.describe(fix)))")
        case .remove:
            IntegrityReport.Problem(kind: .staleIndexEntry, subject: fix.tableName, detail: "a row names no commit that has it (\(Self.describe(fix)))")
        case .repointHead:
            IntegrityReport.Problem(kind: .danglingHead, subject: Hex.encode(fix.key),
                                    detail: "the head of a call is missing, or names a missing commit or one of another call")
        }
    }

    private static func describe(_ fix: IndexFix) -> String {
        let timeKey = fix.value ?? fix.key
        if let hash = try? StoreRecords.commitHash(fromTimeKey: timeKey) { return "commit \(hash.hex)" }
        return "key \(Hex.encode(fix.key))"
    }
}
