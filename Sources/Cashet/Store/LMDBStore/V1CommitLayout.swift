import Foundation

/// Schema 1: every commit's canonical record in `commits` (by hash), each call's newest commit in
/// `heads` (by its 64-byte fingerprint), and each call's commits in time order in `history`.
struct V1CommitLayout: CommitLayout {
    let commits: LMDBDatabase
    let heads: LMDBDatabase
    let history: LMDBDatabase
    let sources: LMDBDatabase
    let functionDetails: FunctionDetailsCache

    var schema: LMDBStore.Schema { .v1 }

    func head(_ fingerprint: Fingerprint, _ txn: LMDBTransaction) throws -> (head: CommitHead, inline: [UInt8]?)? {
        guard let raw = try fingerprint.withUnsafeBytes({ key in try txn.withValue(heads, key: key) { Array($0) } }) else { return nil }
        return (try StoreRecords.decodeHead(raw), nil)
    }

    func commit(_ hash: ContentHash, verified: Bool, _ txn: LMDBTransaction) throws -> Commit? {
        guard let raw = try txn.get(commits, hash.bytes) else { return nil }
        guard verified else { return try CanonicalCommit.decodeCommit(hash: hash, raw, details: .none) }
        let functionHash = try CanonicalCommit.functionHash(ofRecord: raw, hash: hash)
        let details = try functionDetails.row(of: functionHash, in: sources, txn)?.details
        return try CanonicalCommit.decodeVerifiedCommit(hash: hash, raw, details: details ?? .none)
    }

    func contains(_ hash: ContentHash, _ txn: LMDBTransaction) throws -> Bool {
        try txn.get(commits, hash.bytes) != nil
    }

    var inlineResultLimit: Int { -1 }

    func timeKey(_ createdAt: Date, _ hash: ContentHash) -> [UInt8] { StoreRecords.timeKey(createdAt, hash) }

    func commitHash(fromTimeKey key: [UInt8], _ txn: LMDBTransaction) throws -> ContentHash? {
        try? StoreRecords.commitHash(fromTimeKey: key)
    }

    func inlineResult(_ hash: ContentHash, _ txn: LMDBTransaction) throws -> [UInt8]? { nil }

    func inlineReferences(_ hash: ContentHash, _ txn: LMDBTransaction) throws -> Int { 0 }

    func insert(_ commit: Commit, record: [UInt8], function: StoredFunction, inline: [UInt8]?, keepNewerHead: Bool, _ txn: LMDBTransaction) throws -> Bool {
        try txn.put(commits, commit.hash.bytes, record)
        let headIsNewer = try keepNewerHead && txn.get(heads, commit.fingerprint.bytes).map { bytes throws(CashetError) in
            try StoreRecords.decodeHead(bytes).createdAt >= commit.createdAt
        } == true
        if !headIsNewer { try setHead(commit, txn) }
        // The `history` row is one of the store's index rows (``LMDBStore/indexEntries(of:)``).
        return false
    }

    func remove(_ hash: ContentHash, _ txn: LMDBTransaction) throws -> RemovedCommit? {
        guard let raw = try txn.get(commits, hash.bytes) else { return nil }
        let commit = try CanonicalCommit.decodeCommit(hash: hash, raw, details: .none)
        try txn.delete(commits, hash.bytes)
        // The head falls back to the newest commit left, so this one's history row goes first.
        try txn.delete(history, commit.fingerprint.bytes, value: StoreRecords.timeKey(commit.createdAt, hash))
        let fingerprintKey = commit.fingerprint.bytes
        if let headBytes = try txn.get(heads, fingerprintKey), try StoreRecords.decodeHead(headBytes).commit == hash {
            try restoreHead(fingerprintKey, txn)
        }
        return RemovedCommit(commit: commit, inline: false, inlineResultGone: false)
    }

    /// Points a fingerprint's head at its newest remaining commit, or removes it when none is left.
    func restoreHead(_ fingerprintKey: [UInt8], _ txn: LMDBTransaction) throws {
        let newest = try txn.withCursor(history) { cursor -> [UInt8]? in
            guard try cursor.move(.setKey, key: fingerprintKey) != nil else { return nil }
            return try cursor.move(.lastDuplicate)?.value
        }
        if let newest, case let hash = try StoreRecords.commitHash(fromTimeKey: newest), let previous = try txn.get(commits, hash.bytes) {
            try setHead(try CanonicalCommit.decodeCommit(hash: hash, previous, details: .none), txn)
        } else {
            try txn.delete(heads, fingerprintKey)
        }
    }

    func setHead(_ commit: Commit, _ txn: LMDBTransaction) throws {
        let head = CommitHead(commit: commit.hash, output: commit.output, status: commit.status, createdAt: commit.createdAt)
        try txn.put(heads, commit.fingerprint.bytes, StoreRecords.encodeHead(head))
    }

    func history(_ fingerprint: Fingerprint, _ txn: LMDBTransaction) throws -> [Commit] {
        var result: [Commit] = []
        try txn.withCursor(history) { cursor in
            var entry = try cursor.move(.setKey, key: fingerprint.bytes)
            while let current = entry {
                if let commit = try commit(try StoreRecords.commitHash(fromTimeKey: current.value), verified: true, txn) { result.append(commit) }
                entry = try cursor.move(.nextDuplicate)
            }
        }
        return result
    }

    func candidates(_ prefix: HashPrefix, limit: Int, _ txn: LMDBTransaction) throws -> [ContentHash] {
        try Self.hashKeys(of: commits, matching: prefix, limit: limit, txn)
    }

    /// Fingerprints start with the function hash, so the first history key at or after it tells.
    func functionHasCommits(_ functionHash: ContentHash, _ txn: LMDBTransaction) throws -> Bool {
        let prefix = functionHash.bytes
        return try txn.withCursor(history) { cursor in
            guard let entry = try cursor.move(.setRange, key: prefix) else { return false }
            return entry.key.starts(with: prefix)
        }
    }

    func functionID(_ functionHash: ContentHash, name: String, version: String, _ txn: LMDBTransaction) throws -> UInt32? { nil }

    // MARK: Checks and repairs

    func forEachCommit(_ txn: LMDBTransaction, _ body: (ContentHash?, Result<Commit, CashetError>, _ inline: Bool) throws -> Void) throws {
        try txn.forEach(commits) { key, value in
            guard let hash = try? ContentHash(bytes: key) else {
                return try body(nil, .failure(CashetError(.corruptData, "a commit row has a key of \(key.count) bytes")), false)
            }
            let decoded = Result { () throws(CashetError) in try CanonicalCommit.decodeVerifiedCommit(hash: hash, value, details: .none) }
            try body(hash, decoded, false)
        }
    }

    func removeDamaged(_ hash: ContentHash, _ txn: LMDBTransaction) throws -> Bool {
        try txn.delete(commits, hash.bytes)
    }

    func timeKeys(restoredBy fixes: [LMDBStore.IndexFix]) -> [[UInt8]: ContentHash] { [:] }

    func removeUnreadableRows(_ txn: LMDBTransaction) throws -> Int {
        var unreadable: [[UInt8]] = []
        try txn.forEach(commits) { key, _ in if key.count != ContentHash.byteCount { unreadable.append(key) } }
        for key in unreadable { try txn.delete(commits, key) }
        return unreadable.count
    }

    /// Heads: every call with a commit has one, naming a sound commit of that call.
    func derivedRowFixes(_ txn: LMDBTransaction, skipping doomed: Set<ContentHash>,
                         sound: (ContentHash) throws -> Commit?) throws -> [LMDBStore.IndexFix] {
        var headsToRepoint: Set<[UInt8]> = []
        try forEachCommit(txn) { hash, decoded, _ in
            guard let hash, !doomed.contains(hash), case .success(let commit) = decoded else { return }
            if try txn.get(heads, commit.fingerprint.bytes) == nil { headsToRepoint.insert(commit.fingerprint.bytes) }
        }
        try txn.forEach(heads) { key, value in
            let head = try? StoreRecords.decodeHead(value)
            if let head, doomed.contains(head.commit) { return }   // repointed when its commit goes
            let named = try head.flatMap { try sound($0.commit) }
            if named?.fingerprint.bytes != key { headsToRepoint.insert(key) }
        }
        return headsToRepoint.sorted(by: { $0.lexicographicallyPrecedes($1) }).map { key in
            LMDBStore.IndexFix(action: .repointHead, table: heads, tableName: "heads", key: key, value: nil)
        }
    }
}
