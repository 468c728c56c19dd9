import Foundation
import Synchronization

/// Schema 2 (docs/design/storage-v2.md §1): a call's newest commit is one row of `calls`, keyed
/// by the call (`function id ‖ arguments hash`, 36 bytes) and holding everything a hit needs;
/// the commits it superseded are rows of `superseded`, keyed by the call, their time and hash;
/// `ids` finds either by commit hash. Results of at most ``inlineLimit`` bytes live in the row
/// itself (a hit reads one tree), found by their hash through `results`. Rows leave out what their key and their function's record
/// give (``CallRow``) and expand to the canonical record of their hash, so every hash a user has
/// seen keeps naming the same commit.
///
/// Function ids are allocated once per function hash (`function_ids`, `function_hashes`) and
/// never reused or removed, so a process may cache them for as long as it has the store open.
struct V2CommitLayout: CommitLayout {
    let calls: LMDBDatabase
    let superseded: LMDBDatabase
    let ids: LMDBDatabase
    let functionIDs: LMDBDatabase
    let functionHashes: LMDBDatabase
    let results: LMDBDatabase
    let sources: LMDBDatabase
    let functionDetails: FunctionDetailsCache
    /// Function ids read from committed snapshots (ids never change once committed).
    let cache = FunctionIDCache()

    var schema: LMDBStore.Schema { .v2 }

    static let tableSpecs: [(name: String, dupSort: Bool)] = [
        ("calls", false),            // function id ‖ arguments hash → the call's newest commit (CallRow)
        ("superseded", false),       // function id ‖ arguments hash ‖ time ‖ commit hash → an older commit (CallRow)
        ("ids", false),              // commit hash → time ‖ function id ‖ arguments hash
        ("function_ids", false),     // function hash → function id (u32, big-endian)
        ("function_hashes", false),  // function id → function hash ‖ its name and version (a second copy: `sources` may be damaged)
        ("results", false),          // inline result hash[0..<8] ‖ commit hash[0..<8] → nothing
    ]

    /// Results of at most this many bytes live in their commit's row.
    static let inlineLimit = 256

    var inlineResultLimit: Int { Self.inlineLimit }

    // MARK: Keys

    static let callKeySize = 36

    static func callKey(_ id: UInt32, _ argumentsHash: ContentHash) -> [UInt8] {
        var key = idBytes(id)
        key.reserveCapacity(callKeySize)
        argumentsHash.withUnsafeBytes { key.append(contentsOf: $0) }
        return key
    }

    static func idBytes(_ id: UInt32) -> [UInt8] { withUnsafeBytes(of: id.bigEndian) { Array($0) } }

    /// The id ``idBytes(_:)`` wrote (the first four bytes of `bytes`, big-endian).
    static func id(_ bytes: some Collection<UInt8>) -> UInt32 { bytes.prefix(4).bigEndianInteger(UInt32.self) }

    static func supersededKey(_ callKey: [UInt8], _ createdAt: Date, _ hash: ContentHash) -> [UInt8] {
        callKey + StoreRecords.timeBytes(createdAt) + hash.bytes
    }

    /// An `ids` value: where the commit's row is.
    fileprivate struct Location {
        let time: [UInt8]
        let callKey: [UInt8]

        var bytes: [UInt8] { time + callKey }

        init(time: [UInt8], callKey: [UInt8]) { (self.time, self.callKey) = (time, callKey) }

        init(_ bytes: [UInt8], of hash: ContentHash) throws(CashetError) {
            guard bytes.count == 8 + V2CommitLayout.callKeySize else {
                throw CashetError(.corruptData, "the location of commit \(hash.shortHex) has \(bytes.count) bytes, expected \(8 + V2CommitLayout.callKeySize)")
            }
            (time, callKey) = (Array(bytes[0..<8]), Array(bytes[8...]))
        }

    }

    // MARK: Functions

    /// The id of a function already in the store (nil: no commit of it was ever stored).
    func existingFunctionID(_ functionHash: ContentHash, _ txn: LMDBTransaction, cached: Bool) throws -> UInt32? {
        if let id = cache.id(of: functionHash) { return id }
        guard let raw = try txn.get(functionIDs, functionHash.bytes) else { return nil }
        let id = try Self.decodeID(raw, of: functionHash)
        if cached { cache.remember(id, for: functionHash) }
        return id
    }

    func functionID(_ functionHash: ContentHash, name: String, version: String, _ txn: LMDBTransaction) throws -> UInt32? {
        // Not cached here: this write transaction may yet be aborted.
        if let id = try existingFunctionID(functionHash, txn, cached: false) { return id }
        // Past every id either table names: a lost `function_hashes` row must not free its id.
        var last: UInt32 = 0
        if let key = try txn.withCursor(functionHashes, { cursor in try cursor.move(.last)?.key }), key.count == 4 {
            last = Self.id(key)
        }
        try txn.forEach(functionIDs) { _, value in
            if value.count == 4 { last = max(last, Self.id(value)) }
        }
        let id = last &+ 1
        guard id != 0 else { throw CashetError(.outOfSpace, "the store has used every function id") }
        try txn.put(functionIDs, functionHash.bytes, Self.idBytes(id))
        try txn.put(functionHashes, Self.idBytes(id), Self.functionHashRow(functionHash, name: name, version: version))
        return id
    }

    private static func decodeID(_ raw: [UInt8], of functionHash: ContentHash) throws(CashetError) -> UInt32 {
        guard raw.count == 4 else { throw CashetError(.corruptData, "the id of function \(functionHash.shortHex) has \(raw.count) bytes, expected 4") }
        return Self.id(raw)
    }

    /// A `function_hashes` value: the hash, then the function record without its source.
    static func functionHashRow(_ hash: ContentHash, name: String, version: String) -> [UInt8] {
        hash.bytes + CanonicalCommit.encodeFunction(name: name, version: version, details: .none)
    }

    /// The function records a row of function `id` may expand with; the row's commit hash
    /// decides between them (``expand(_:_:_:verify:)`` tries each, the last unverified only when
    /// the caller asked for no verification). The hash is the one `function_hashes` names when
    /// `function_ids` agrees. When they disagree a flipped byte hit one of them (a hash in
    /// `function_hashes`, or a key in `function_ids`): every hash either names for this id is a
    /// candidate, those with a record in `sources` last. For each hash, the name and version
    /// come from the copy in `function_hashes` and from `sources` (either may be damaged).
    private func functionFields(_ id: UInt32, _ txn: LMDBTransaction) throws -> [FunctionFields] {
        let idBytes = Self.idBytes(id)
        let raw = try txn.get(functionHashes, idBytes)
        let named = raw.flatMap { $0.count >= 32 ? try? ContentHash(bytes: $0.prefix(32)) : nil }
        var hashes = named.map { [$0] } ?? []
        if try named.map({ try txn.get(functionIDs, $0.bytes) != idBytes }) ?? true {
            try txn.forEach(functionIDs) { key, value in
                if value == idBytes, let hash = try? ContentHash(bytes: key), !hashes.contains(hash) { hashes.append(hash) }
            }
        }
        guard !hashes.isEmpty else { throw CashetError(.corruptData, "function id \(id) names no function") }
        let copy = raw.flatMap { $0.count > 32 ? try? CanonicalCommit.decodeCanonicalFunction(Array($0[32...])) : nil }
        var candidates: [(fields: FunctionFields, recorded: Bool)] = []
        for hash in hashes {
            // Decoded once per row, not once per commit (a manifest can be large).
            let stored = (try? functionDetails.row(of: hash, in: sources, txn)) ?? nil
            let recorded = stored != nil
            if let copy {
                candidates.append((FunctionFields(hash: hash, name: copy.name, version: copy.version, details: stored?.details ?? .none), recorded))
            }
            if let stored, copy.map({ $0.name != stored.name || $0.version != stored.version }) ?? true {
                candidates.append((FunctionFields(hash: hash, name: stored.name, version: stored.version, details: stored.details), true))
            }
        }
        guard !candidates.isEmpty else {
            throw CashetError(.corruptData, "function \(hashes[0].shortHex) has commits but no readable function record")
        }
        return candidates.filter { !$0.recorded }.map(\.fields) + candidates.filter(\.recorded).map(\.fields)
    }

    // MARK: Reads

    func head(_ fingerprint: Fingerprint, _ txn: LMDBTransaction) throws -> (head: CommitHead, inline: [UInt8]?)? {
        guard let id = try existingFunctionID(fingerprint.functionHash, txn, cached: true),
              let raw = try txn.get(calls, Self.callKey(id, fingerprint.argumentsHash)) else { return nil }
        return try CallRow.head(ofEncoded: raw)
    }

    // MARK: Time keys

    func timeKey(_ createdAt: Date, _ hash: ContentHash) -> [UInt8] {
        StoreRecords.timeBytes(createdAt) + hash.bytes.prefix(8)
    }

    /// The commit whose hash starts with the key's 8 bytes and whose location has its time.
    func commitHash(fromTimeKey key: [UInt8], _ txn: LMDBTransaction) throws -> ContentHash? {
        guard key.count == 16 else { return nil }
        let (time, prefix) = (key[0..<8], key[8..<16])
        return try txn.withCursor(ids) { cursor in
            var entry = try cursor.move(.setRange, key: Array(prefix))
            while let current = entry, current.key.starts(with: prefix) {
                if current.value.starts(with: time) { return try? ContentHash(bytes: current.key) }
                entry = try cursor.move(.next)
            }
            return nil
        }
    }

    // MARK: Inline results

    /// A `results` key: the result's hash and the commit's, 8 bytes of each (the rows decide).
    private static func resultKey(_ result: ContentHash, _ commit: ContentHash) -> [UInt8] {
        Array(result.bytes.prefix(8)) + Array(commit.bytes.prefix(8))
    }

    /// The rows of commits whose hash starts with `prefix` (8 bytes).
    private func rows(ofCommitsStartingWith prefix: ArraySlice<UInt8>, _ txn: LMDBTransaction, _ body: (CallRow) throws -> Bool) throws {
        try txn.withCursor(ids) { cursor in
            var entry = try cursor.move(.setRange, key: Array(prefix))
            while let current = entry, current.key.starts(with: prefix) {
                if let hash = try? ContentHash(bytes: current.key), let (_, row) = try? locate(hash, txn), try body(row) { return }
                entry = try cursor.move(.next)
            }
        }
    }

    /// Calls `body` with the inline bytes of every row `results` lists under the result's hash
    /// prefix that really hold that result, until it returns true.
    private func holders(of hash: ContentHash, _ txn: LMDBTransaction, _ body: ([UInt8]) throws -> Bool) throws {
        let prefix = Array(hash.bytes.prefix(8))
        try txn.withCursor(results) { cursor in
            var entry = try cursor.move(.setRange, key: prefix)
            var done = false
            while !done, let current = entry, current.key.starts(with: prefix), current.key.count == 16 {
                try rows(ofCommitsStartingWith: current.key[8..<16], txn) { row in
                    guard case .inline(let bytes) = row.result, SHA256Hasher.hash(bytes) == hash else { return false }
                    done = try body(bytes)
                    return done
                }
                entry = try cursor.move(.next)
            }
        }
    }

    func inlineResult(_ hash: ContentHash, _ txn: LMDBTransaction) throws -> [UInt8]? {
        var found: [UInt8]?
        try holders(of: hash, txn) { bytes in
            found = bytes
            return true
        }
        return found
    }

    func inlineReferences(_ hash: ContentHash, _ txn: LMDBTransaction) throws -> Int {
        var count = 0
        try holders(of: hash, txn) { _ in
            count += 1
            return false
        }
        return count
    }

    func commit(_ hash: ContentHash, verified: Bool, _ txn: LMDBTransaction) throws -> Commit? {
        guard let (location, row) = try locate(hash, txn) else { return nil }
        return try expand(row, location.callKey, txn, verify: verified)
    }

    /// The row of commit `hash`: the head of its call, or one it superseded.
    private func locate(_ hash: ContentHash, _ txn: LMDBTransaction) throws -> (Location, CallRow)? {
        guard let raw = try txn.get(ids, hash.bytes) else { return nil }
        let location = try Location(raw, of: hash)
        if let head = try txn.get(calls, location.callKey), case let row = try CallRow(decoding: head), row.commit == hash {
            return (location, row)
        }
        guard let older = try txn.get(superseded, location.callKey + location.time + hash.bytes) else {
            throw CashetError(.corruptData, "commit \(hash.shortHex) is indexed, but its row is missing")
        }
        let row = try CallRow(decoding: older)
        guard row.commit == hash else { throw CashetError(.corruptData, "the row of commit \(hash.shortHex) holds commit \(row.commit.shortHex)") }
        return (location, row)
    }

    fileprivate func expand(_ row: CallRow, _ callKey: [UInt8], _ txn: LMDBTransaction, verify: Bool) throws -> Commit {
        let id = Self.id(callKey)
        let arguments = try ContentHash(bytes: callKey[4...])
        let candidates = try functionFields(id, txn)
        for function in candidates.dropLast() {
            if let planned = try? row.expand(function: function, argumentsHash: arguments, verify: true) { return planned.commit }
        }
        return try row.expand(function: candidates.last!, argumentsHash: arguments, verify: verify).commit
    }

    func contains(_ hash: ContentHash, _ txn: LMDBTransaction) throws -> Bool {
        try txn.get(ids, hash.bytes) != nil
    }

    func history(_ fingerprint: Fingerprint, _ txn: LMDBTransaction) throws -> [Commit] {
        guard let id = try existingFunctionID(fingerprint.functionHash, txn, cached: true) else { return [] }
        let callKey = Self.callKey(id, fingerprint.argumentsHash)
        var rows: [CallRow] = []
        try txn.withCursor(superseded) { cursor in
            var entry = try cursor.move(.setRange, key: callKey)
            while let current = entry, current.key.starts(with: callKey) {
                rows.append(try CallRow(decoding: current.value))
                entry = try cursor.move(.next)
            }
        }
        if let head = try txn.get(calls, callKey) { rows.append(try CallRow(decoding: head)) }
        // Time order, as schema 1's history index keeps it (time, then hash).
        return try rows.map { row in try expand(row, callKey, txn, verify: true) }.sorted { a, b in
            a.createdAt != b.createdAt ? a.createdAt < b.createdAt : a.hash.bytes.lexicographicallyPrecedes(b.hash.bytes)
        }
    }

    func candidates(_ prefix: HashPrefix, limit: Int, _ txn: LMDBTransaction) throws -> [ContentHash] {
        try Self.hashKeys(of: ids, matching: prefix, limit: limit, txn)
    }

    func functionHasCommits(_ functionHash: ContentHash, _ txn: LMDBTransaction) throws -> Bool {
        guard let id = try existingFunctionID(functionHash, txn, cached: false) else { return false }
        let prefix = Self.idBytes(id)
        return try txn.withCursor(calls) { cursor in
            guard let entry = try cursor.move(.setRange, key: prefix) else { return false }
            return entry.key.starts(with: prefix)
        }
    }

    // MARK: Writes

    func insert(_ commit: Commit, record: [UInt8], function: StoredFunction, inline: [UInt8]?, keepNewerHead: Bool, _ txn: LMDBTransaction) throws -> Bool {
        guard let id = function.id else { throw CashetError(.storage, "schema 2 needs a function id for commit \(commit.hash.shortHex)") }
        let callKey = Self.callKey(id, commit.fingerprint.argumentsHash)
        let fields = FunctionFields(hash: function.hash, name: function.name, version: function.version, details: .none)
        let result: CallRow.Result
        var newResult = false
        if let inline, let output = commit.output {
            guard inline.count == output.size, inline.count <= Self.inlineLimit else {
                throw CashetError(.storage, "the inline result of commit \(commit.hash.shortHex) has \(inline.count) bytes, its commit says \(output.size)")
            }
            result = .inline(inline)
            newResult = try inlineResult(output.hash, txn) == nil
        } else {
            result = commit.output.map { .blob($0) } ?? .none
        }
        let row = CallRow(commit, result: result, function: fields).encoded()
        if let currentRaw = try txn.get(calls, callKey) {
            let current = try CallRow.head(ofEncoded: currentRaw).head
            if current.commit == commit.hash { return false }
            if keepNewerHead && current.createdAt >= commit.createdAt {
                try txn.put(superseded, Self.supersededKey(callKey, commit.createdAt, commit.hash), row)
            } else {
                try txn.put(superseded, Self.supersededKey(callKey, current.createdAt, current.commit), currentRaw)
                try txn.put(calls, callKey, row)
            }
        } else {
            try txn.put(calls, callKey, row)
        }
        try txn.put(ids, commit.hash.bytes, Location(time: StoreRecords.timeBytes(commit.createdAt), callKey: callKey).bytes)
        if inline != nil, let output = commit.output { try txn.put(results, Self.resultKey(output.hash, commit.hash), []) }
        return newResult
    }

    func remove(_ hash: ContentHash, _ txn: LMDBTransaction) throws -> RemovedCommit? {
        guard let raw = try txn.get(ids, hash.bytes) else { return nil }
        let location = try Location(raw, of: hash)
        try txn.delete(ids, hash.bytes)
        let row: CallRow
        if let headRaw = try txn.get(calls, location.callKey), case let head = try CallRow(decoding: headRaw), head.commit == hash {
            row = head
            try restoreHead(location.callKey, txn)
        } else {
            let key = location.callKey + location.time + hash.bytes
            guard let older = try txn.get(superseded, key) else {
                throw CashetError(.corruptData, "commit \(hash.shortHex) is indexed, but its row is missing")
            }
            row = try CallRow(decoding: older)
            try txn.delete(superseded, key)
        }
        let commit = try expand(row, location.callKey, txn, verify: false)
        guard case .inline = row.result, let output = commit.output else { return RemovedCommit(commit: commit, inline: false, inlineResultGone: false) }
        try txn.delete(results, Self.resultKey(output.hash, hash))
        return RemovedCommit(commit: commit, inline: true, inlineResultGone: try inlineResult(output.hash, txn) == nil)
    }

    /// Makes the newest commit the call's head superseded its head again, or removes the head
    /// when the call has none left.
    fileprivate func restoreHead(_ callKey: [UInt8], _ txn: LMDBTransaction) throws {
        let newest = try txn.withCursor(superseded) { cursor -> (key: [UInt8], value: [UInt8])? in
            // The first key past every row of the call, then one back.
            let past = try cursor.move(.setRange, key: callKey + [UInt8](repeating: 0xFF, count: 40))
            let entry = try past == nil ? cursor.move(.last) : cursor.move(.previous)
            guard let entry, entry.key.starts(with: callKey) else { return nil }
            return entry
        }
        if let newest {
            try txn.put(calls, callKey, newest.value)
            try txn.delete(superseded, newest.key)
        } else {
            try txn.delete(calls, callKey)
        }
    }
}

extension V2CommitLayout {
    // MARK: Checks and repairs

    /// Every row of `calls` and `superseded`, with the call key it expands with.
    private func forEachRow(_ txn: LMDBTransaction, _ body: (_ table: LMDBDatabase, _ key: [UInt8], _ callKey: [UInt8], _ value: [UInt8]) throws -> Void) throws {
        try txn.forEach(calls) { key, value in try body(calls, key, key, value) }
        try txn.forEach(superseded) { key, value in try body(superseded, key, Array(key.prefix(Self.callKeySize)), value) }
    }

    func forEachCommit(_ txn: LMDBTransaction, _ body: (ContentHash?, Result<Commit, CashetError>, _ inline: Bool) throws -> Void) throws {
        try forEachRow(txn) { table, key, callKey, value in
            let row = try? CallRow(decoding: value)
            // A superseded row's key ends with its commit's hash.
            let hash = row?.commit ?? (table == superseded && key.count == Self.callKeySize + 8 + 32 ? try? ContentHash(bytes: key.suffix(32)) : nil)
            let decoded = Result { () throws(CashetError) -> Commit in
                guard let row, callKey.count == Self.callKeySize else {
                    throw CashetError(.corruptData, "a row of \(table == calls ? "calls" : "superseded") does not decode")
                }
                guard row.inlineResultIsIntact else {
                    throw CashetError(.corruptData, "the result commit \(row.commit.shortHex) keeps in its row does not hash to its name (damaged)")
                }
                do { return try expand(row, callKey, txn, verify: true) } catch { throw LMDBStore.wrap(error, "expanding commit \(row.commit.shortHex)") }
            }
            let inline = if case .inline? = row?.result { true } else { false }
            try body(hash, decoded, inline)
        }
    }

    func removeDamaged(_ hash: ContentHash, _ txn: LMDBTransaction) throws -> Bool {
        var doomed: [(LMDBDatabase, [UInt8])] = []
        try forEachRow(txn) { table, key, _, value in
            let named = (try? CallRow(decoding: value))?.commit ?? (table == superseded && key.count == Self.callKeySize + 40 ? try? ContentHash(bytes: key.suffix(32)) : nil)
            if named == hash { doomed.append((table, key)) }
        }
        for (table, key) in doomed {
            try txn.delete(table, key)
            if table == calls { try restoreHead(key, txn) }
        }
        return try txn.delete(ids, hash.bytes) || !doomed.isEmpty
    }

    func timeKeys(restoredBy fixes: [LMDBStore.IndexFix]) -> [[UInt8]: ContentHash] {
        var named: [[UInt8]: ContentHash] = [:]
        for fix in fixes where fix.action == .add && fix.table == ids {
            guard let value = fix.value, value.count >= 8, let hash = try? ContentHash(bytes: fix.key) else { continue }
            named[Array(value.prefix(8)) + fix.key.prefix(8)] = hash
        }
        return named
    }

    func removeUnreadableRows(_ txn: LMDBTransaction) throws -> Int {
        var unreadable: [(LMDBDatabase, [UInt8])] = []
        try forEachRow(txn) { table, key, callKey, value in
            if callKey.count != Self.callKeySize || (try? CallRow(decoding: value)) == nil { unreadable.append((table, key)) }
        }
        // Superseded rows first: restoring a head must not promote one that is going too.
        for (table, key) in unreadable.sorted(by: { $0.0 == superseded && $1.0 != superseded }) {
            try txn.delete(table, key)
            if table == calls && key.count == Self.callKeySize { try restoreHead(key, txn) }
        }
        return unreadable.count
    }

    /// Locations: every sound row has its `ids` row, and every `ids` row names a row holding its
    /// commit. Function ids: every id has its `function_hashes` row, with the hash and a record
    /// that reads (rewritten from `function_ids` and `sources` when it is lost or damaged).
    func derivedRowFixes(_ txn: LMDBTransaction, skipping doomed: Set<ContentHash>,
                         sound: (ContentHash) throws -> Commit?) throws -> [LMDBStore.IndexFix] {
        var fixes: [LMDBStore.IndexFix] = []
        /// The keys of `function_ids` by id, for the pass over `function_hashes` below.
        var keysByID: [[UInt8]: [[UInt8]]] = [:]
        try txn.forEach(functionIDs) { key, id in
            keysByID[id, default: []].append(key)
            guard let hash = try? ContentHash(bytes: key), id.count == 4 else { return }
            let row = try txn.get(functionHashes, id)
            if let row, row.count > 32, row.prefix(32).elementsEqual(key), (try? CanonicalCommit.decodeCanonicalFunction(Array(row.dropFirst(32)))) != nil { return }
            // A row naming another function is that function's: never overwritten from here.
            if let row, row.count >= 32, !row.prefix(32).elementsEqual(key), let other = try? ContentHash(bytes: row.prefix(32)),
               try txn.get(functionIDs, other.bytes) == id { return }
            // Rewritten only from a record that reads: otherwise rows expand through `sources` alone.
            guard let record = try txn.get(sources, key), let stored = try? CanonicalCommit.decodeCanonicalFunction(record) else { return }
            fixes.append(LMDBStore.IndexFix(action: .add, table: functionHashes, tableName: "function_hashes", key: id,
                                            value: Self.functionHashRow(hash, name: stored.name, version: stored.version)))
        }
        // A key of `function_ids` flipped: the function its `function_hashes` row names (one with a
        // record in `sources`) has no id, so its calls would miss; the flipped key names nothing.
        try txn.forEach(functionHashes) { id, row in
            guard id.count == 4, row.count > 32, let hash = try? ContentHash(bytes: row.prefix(32)),
                  try txn.get(functionIDs, hash.bytes) == nil, try txn.get(sources, hash.bytes) != nil else { return }
            fixes.append(LMDBStore.IndexFix(action: .add, table: functionIDs, tableName: "function_ids", key: hash.bytes, value: id))
            for key in keysByID[id] ?? [] where try txn.get(sources, key) == nil {
                fixes.append(LMDBStore.IndexFix(action: .remove, table: functionIDs, tableName: "function_ids", key: key, value: nil))
            }
        }
        var located: Set<ContentHash> = []
        var inlineResults = InlineResultKeys()
        try forEachRow(txn) { _, _, callKey, value in
            guard let row = try? CallRow(decoding: value), !doomed.contains(row.commit), callKey.count == Self.callKeySize else { return }
            located.insert(row.commit)
            let expected = Location(time: StoreRecords.timeBytes(CanonicalCommit.date(nanoseconds: row.createdAt)), callKey: callKey).bytes
            if try txn.get(ids, row.commit.bytes) != expected {
                fixes.append(LMDBStore.IndexFix(action: .add, table: ids, tableName: "ids", key: row.commit.bytes, value: expected))
            }
            // An inline result is found by its hash through `results` only (`get HASH`, export).
            if let result = row.inlineHash, row.inlineResultIsIntact {
                let key = Self.resultKey(result, row.commit)
                inlineResults.insert(key)
                if try txn.get(results, key) == nil {
                    fixes.append(LMDBStore.IndexFix(action: .add, table: results, tableName: "results", key: key, value: []))
                }
            }
        }
        try txn.forEach(ids) { key, _ in
            guard let hash = try? ContentHash(bytes: key) else {
                return fixes.append(LMDBStore.IndexFix(action: .remove, table: ids, tableName: "ids", key: key, value: nil))
            }
            if !doomed.contains(hash) && !located.contains(hash) {
                fixes.append(LMDBStore.IndexFix(action: .remove, table: ids, tableName: "ids", key: key, value: nil))
            }
        }
        let doomedPrefixes = Set(doomed.map { $0.bytes[0..<8].bigEndianInteger(UInt64.self) })
        try txn.forEach(results) { key, _ in
            // A doomed commit's key goes with the commit.
            if key.count == 16, doomedPrefixes.contains(key[8..<16].bigEndianInteger(UInt64.self)) { return }
            if !inlineResults.contains(key) {
                fixes.append(LMDBStore.IndexFix(action: .remove, table: results, tableName: "results", key: key, value: nil))
            }
        }
        return fixes
    }

    /// The `results` keys the rows call for, each held as two words (no array per key).
    private struct InlineResultKeys {
        private struct Key: Hashable {
            let result: UInt64
            let commit: UInt64
        }
        private var keys: Set<Key> = []

        private static func key(_ bytes: [UInt8]) -> Key? {
            bytes.count == 16 ? Key(result: bytes[0..<8].bigEndianInteger(UInt64.self), commit: bytes[8..<16].bigEndianInteger(UInt64.self)) : nil
        }

        mutating func insert(_ bytes: [UInt8]) { if let key = Self.key(bytes) { keys.insert(key) } }
        func contains(_ bytes: [UInt8]) -> Bool { Self.key(bytes).map { keys.contains($0) } ?? false }
    }
}

/// Function ids by function hash, as committed snapshots hold them; see ``V2CommitLayout``.
final class FunctionIDCache: Sendable {
    private let ids = Mutex<[ContentHash: UInt32]>([:])

    func id(of functionHash: ContentHash) -> UInt32? { ids.withLock { $0[functionHash] } }

    func remember(_ id: UInt32, for functionHash: ContentHash) { ids.withLock { $0[functionHash] = id } }
}
