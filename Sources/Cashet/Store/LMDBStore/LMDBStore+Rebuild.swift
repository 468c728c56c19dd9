import Foundation

/// Rebuilding a structurally damaged `data.mdb` (see ``checkStructure(at:)``) from every record
/// still readable in it.
///
/// Only records that prove themselves are copied: commits (named by the SHA-256 of their record),
/// blobs with both of their rows, function sources, hit times. Everything derived from them
/// (heads, history, tags, the function and time indexes, the counters) is written again by the
/// code that writes a new commit, so a damaged index cannot survive into the new file. The
/// damaged file is kept beside the new one, never deleted: it may hold what a later, deeper
/// recovery can use.
extension LMDBStore {
    /// What ``rebuild(at:configuration:)`` kept and lost.
    public struct RebuildReport: Hashable, Sendable {
        /// Commits copied into the new file.
        public var commitsKept = 0
        /// Commits whose record was unreadable or altered, or whose result's records were (at
        /// least: the count the damaged file recorded, less the commits kept).
        public var commitsLost = 0
        /// Blobs copied (their bytes are checked by the `fsck` that follows a rebuild).
        public var blobsKept = 0
        /// Where the damaged file now is (inside the store directory).
        public var damagedFile = ""
    }

    /// The prefix of the scratch directory a rebuild builds the new file in (a leftover of an
    /// interrupted rebuild is removed by the next one).
    static let rebuildPrefix = "rebuild."

    /// Rebuilds the store's `data.mdb` from every record its pages still give, then swaps the
    /// new file in and keeps the damaged one as `data.mdb.damaged-<time>`.
    ///
    /// The store must be used by no other process, nor opened in this one: the rebuild takes the
    /// lock that every LMDB user of the store holds, and fails with `.unavailable` when it cannot.
    /// A process that opens the store during the swap fails to open it (the lock file is reset)
    /// instead of reading the old file. Run ``Client/fsck(repair:progress:)`` afterwards: it checks every
    /// result the rebuild kept and removes files whose records were lost.
    public static func rebuild(at path: String, configuration: Configuration = Configuration()) throws(CashetError) -> RebuildReport {
        try rewrite(at: path, configuration: configuration, schema: nil, keepingOldAs: "data.mdb.damaged-", progress: nil) { _ in }
    }

    /// The mechanism of ``rebuild(at:configuration:)`` and ``migrate(at:configuration:progress:)``:
    /// a new `data.mdb` of `schema` (nil: the old file's) written from every record its pages give (in a
    /// scratch directory, synced), then swapped in, the old file kept as `oldPrefix` + time.
    /// `accept` sees the report before the swap and may refuse it (by throwing: nothing changes).
    static func rewrite(at path: String, configuration: Configuration, schema: Schema?, keepingOldAs oldPrefix: String,
                        progress: (@Sendable (_ done: Int, _ total: Int) -> Void)?,
                        accept: (RebuildReport) throws(CashetError) -> Void) throws(CashetError) -> RebuildReport {
        try withStoreToItself(at: path, configuration: configuration) { root, lockFile throws(CashetError) in
            try rewrite(root, lockFile, path: path, configuration: configuration, schema: schema, keepingOldAs: oldPrefix, progress: progress, accept: accept)
        }
    }

    /// Runs `body` with the store at `path` used by no one else, this process included: it holds
    /// the lock byte of `lock.mdb` that every LMDB user of the store holds shared while it has the
    /// store open (an OFD lock: it conflicts with this process's own LMDB lock too). `body` gets
    /// the store's root and the lock file; `.unavailable` when the store is in use.
    static func withStoreToItself<T>(at path: String, configuration: Configuration,
                                     _ body: (StoreRoot, borrowing PosixFile) throws(CashetError) -> T) throws(CashetError) -> T {
        let root = try StoreRoot(path)
        guard try root.handle.kind(of: "data.mdb") == .regularFile,
              let lockFile = try root.handle.openFile("lock.mdb", flags: O_RDWR | O_CREAT, mode: configuration.permissions.fileMode) else {
            throw CashetError(.notAStore, "\(path) has no data.mdb; it is not a cashet store")
        }
        guard try lockFile.tryLockByte(at: 0) else {
            throw CashetError(.unavailable, "the store at \(path) is open in another process (or in this one); rewriting data.mdb needs it to itself: stop every program using it and try again")
        }
        // Released explicitly: the lock belongs to the open file, which a child process spawned
        // meanwhile by another thread may still share (until its exec) after this one closes it.
        defer { lockFile.unlockByte(at: 0) }
        for name in try root.handle.entries() where name.hasPrefix(rebuildPrefix) { try root.handle.remove(name) }
        return try body(root, lockFile)
    }

    /// Swaps the complete `data.mdb` of the scratch directory `scratch` in for the store's, in one
    /// rename (killed at any moment, `data.mdb` names the old file or the complete new one), then
    /// resets the lock file, whose reader table describes the old file: emptied, it is rebuilt by
    /// the next process to open the store alone, and refused by one that was waiting for the lock.
    /// With `oldName`, the old file keeps that second name; without, it is gone.
    static func swapIn(_ scratch: String, _ root: StoreRoot, _ lockFile: borrowing PosixFile, keepingOldAs oldName: String?) throws(CashetError) {
        guard let scratchDirectory = try root.handle.directory(scratch) else {
            throw CashetError(.storage, "the new data.mdb vanished from \(root.path)/\(scratch)")
        }
        if let oldName {
            if try root.handle.kind(of: oldName) != nil { try root.handle.remove(oldName) }
            try root.handle.link("data.mdb", to: oldName)
        }
        try scratchDirectory.rename("data.mdb", to: "data.mdb", in: root.handle)
        try root.handle.sync()
        try lockFile.rewind()
        try root.handle.remove(scratch)
    }

    private static func rewrite(_ root: StoreRoot, _ lockFile: borrowing PosixFile, path: String, configuration: Configuration, schema: Schema?,
                                keepingOldAs oldPrefix: String, progress: (@Sendable (_ done: Int, _ total: Int) -> Void)?,
                                accept: (RebuildReport) throws(CashetError) -> Void) throws(CashetError) -> RebuildReport {
        guard let old = try root.handle.openFile("data.mdb", flags: O_RDONLY) else {
            throw CashetError(.notAStore, "\(path) has no data.mdb")
        }
        let mode = try old.mode()
        let walker = try LMDBFileWalker(file: old, salvaging: true)
        let scratch = rebuildPrefix + UUID().uuidString
        var settings = configuration
        settings.create = true
        settings.readOnly = false
        settings.durability = .noSync   // synced once, before the swap
        settings.migration = .manual
        settings.schema = schema ?? Self.schema(of: walker.namedTables(expected: Self.everyTableName))
        var report = RebuildReport()
        do throws(CashetError) {
            do {
                let fresh = try LMDBStore(path + "/" + scratch, configuration: settings)
                let originals = BlobFiles(root: root, durable: true, permissions: configuration.permissions)
                try fresh.restore(from: walker, files: originals, progress: progress, &report)
                do { try fresh.env.sync() } catch { throw wrap(error, "syncing the new data.mdb") }
            }   // the new store is released here, closing its environment
            try accept(report)
        } catch {
            _ = try? root.handle.remove(scratch)
            throw error
        }
        guard let scratchDirectory = try root.handle.directory(scratch), let rewritten = try scratchDirectory.openFile("data.mdb", flags: O_RDONLY) else {
            throw CashetError(.storage, "the new data.mdb vanished from \(path)/\(scratch)")
        }
        try rewritten.setMode(mode)
        report.damagedFile = oldPrefix + Self.fileStamp(Date())
        try swapIn(scratch, root, lockFile, keepingOldAs: report.damagedFile)
        return report
    }

    /// The tables of either schema, for a walker to look for in older snapshots when the newest lacks them.
    static let everyTableName = Tables.specs(.v1).map(\.name) + V2CommitLayout.tableSpecs.map(\.name)

    /// The schema of a file with these tables: schema 2's own tables say so (its meta table may be damaged).
    static func schema(of tables: [String: LMDBPageFormat.Tree]) -> Schema {
        V2CommitLayout.tableSpecs.contains { tables[$0.name] != nil } ? .v2 : .v1
    }

    /// `20261130T235959Z`: a time for file names.
    private static func fileStamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }

    /// Copies into this new, empty store the sound records `walker` reaches: blobs with both of
    /// their rows, then the commits whose record hashes to its name and whose result was copied,
    /// then their hit times. Written in batches of a few thousand per transaction.
    ///
    /// A commit whose result lost its `blob_info` row is not lost for that: the result's bytes
    /// are in its `blobs` row (or the file it names), and the other row holds only sizes and a
    /// reference count, which the commit and the row give again. Such results are copied in a
    /// second pass, from the `blobs` tree or from leaf pages no tree reaches
    /// (``LMDBFileWalker/unreachedLeafRecords(_:)``: a damaged branch, a lost root or meta page,
    /// the cut-off end of the file), where commits that hash to their name are found too.
    private func restore(from walker: LMDBFileWalker, files originals: BlobFiles, progress: (@Sendable (Int, Int) -> Void)?,
                         _ report: inout RebuildReport) throws(CashetError) {
        walker.walkFreeList()   // free pages are no records' home
        let tables = walker.namedTables(expected: Self.everyTableName)
        let fromSchema = Self.schema(of: tables)
        func each(_ name: String, _ visit: (_ key: [UInt8], _ value: [UInt8]) throws(CashetError) -> Void) throws(CashetError) {
            guard var tree = tables[name] else { return }
            tree.flags = Tables.recordedFlags[name] ?? tree.flags   // not a flipped bit's key order
            try walker.walk(tree, name: name, reading: true, visit)
        }
        func verified(_ key: [UInt8], _ value: [UInt8]) -> (ContentHash, Commit)? {
            guard let hash = try? ContentHash(bytes: key), let commit = try? CanonicalCommit.decodeVerifiedCommit(hash: hash, value, details: .none) else { return nil }
            return (hash, commit)
        }
        let batchSize = 4096

        var blobs: [(hash: ContentHash, info: StoreRecords.BlobInfo, stored: [UInt8], inFile: Bool)] = []
        var kept: Set<ContentHash> = []
        func storeBlobs() throws(CashetError) {
            try writingState("rebuilding blobs in \(path)") { txn, state in
                for blob in blobs {
                    var info = blob.info
                    info.references = 0   // counted again as the commits go in
                    _ = try insertBlob(blob.hash.bytes, info, stored: blob.stored, inFile: blob.inFile, txn, &state)
                }
            }
            blobs.removeAll(keepingCapacity: true)
        }
        /// Queues a blob row that proves itself, and tells whether it did. `info`: its metadata
        /// row, if found; `size`: its logical size (the metadata's, or that of a commit whose
        /// result it is). A row kept in the database must decode to bytes of that size hashing
        /// to its name; a row naming a file must find it at the stored size its metadata records
        /// (the file's bytes are checked by the fsck that follows a rebuild). A salvage can read
        /// a page of another table as this one's (a stale branch pointing at reused pages), and
        /// rows of several tables share the blob's hash as their key.
        func keepBlob(_ hash: ContentHash, _ stored: [UInt8], info: StoreRecords.BlobInfo?, size: Int) throws(CashetError) -> Bool {
            guard !kept.contains(hash), let location = try? StoreRecords.decodeBlobLocation(stored, hash: hash) else { return false }
            let inFile = if case .file = location { true } else { false }
            guard let storedSize = inFile ? try originals.storedSize(of: hash) : stored.count,
                  inFile ? info.map({ $0.storedSize == storedSize }) ?? true : inlineRowProvesItself(hash, location, storedSize: storedSize, size: size) else { return false }
            blobs.append((hash, StoreRecords.BlobInfo(size: size, storedSize: storedSize, references: 0), stored, inFile))
            kept.insert(hash)
            if blobs.count == batchSize { try storeBlobs() }
            return true
        }

        var infos: [ContentHash: StoreRecords.BlobInfo] = [:]
        try each("blob_info") { key, value in
            if let hash = try? ContentHash(bytes: key), let info = try? StoreRecords.BlobInfo(value) { infos[hash] = info }
        }
        var withoutInfo: Set<ContentHash> = []
        try each("blobs") { key, value throws(CashetError) in
            guard let hash = try? ContentHash(bytes: key) else { return }
            // A row its metadata does not vouch for may still be a commit's result (second pass).
            if let info = infos[hash], try keepBlob(hash, value, info: info, size: info.size) { return }
            withoutInfo.insert(hash)
        }
        infos = [:]

        var sources: [ContentHash: FunctionDetails] = [:]
        var functions: [ContentHash: FunctionFields] = [:]   // schema 2's rows expand with them
        try each("sources") { key, value in
            guard let hash = try? ContentHash(bytes: key) else { return }
            if let details = try? CanonicalCommit.decodeFunctionDetails(value) { sources[hash] = details }
            if let (name, version, details) = try? CanonicalCommit.decodeCanonicalFunction(value) {
                functions[hash] = FunctionFields(hash: hash, name: name, version: version, details: details)
            }
        }
        // Function ids: from `function_hashes` (with its copy of the name and version), else from `function_ids`.
        var functionHashes: [UInt32: ContentHash] = [:]
        var copies: [UInt32: FunctionFields] = [:]
        try each("function_ids") { key, value in
            if value.count == 4, let hash = try? ContentHash(bytes: key) { functionHashes[V2CommitLayout.id(value)] = hash }
        }
        try each("function_hashes") { key, value in
            guard key.count == 4, value.count >= 32, let hash = try? ContentHash(bytes: value.prefix(32)) else { return }
            let id = V2CommitLayout.id(key)
            functionHashes[id] = hash
            if let copy = try? CanonicalCommit.decodeCanonicalFunction(Array(value.dropFirst(32))) {
                copies[id] = FunctionFields(hash: hash, name: copy.name, version: copy.version, details: sources[hash] ?? .none)
            }
        }
        /// A schema-2 row (of `calls` or `superseded`) that expands to the record of its commit's
        /// hash, with its inline result's bytes.
        func expanded(_ key: [UInt8], _ value: [UInt8]) -> (hash: ContentHash, commit: Commit, record: [UInt8], inline: [UInt8]?)? {
            guard key.count == V2CommitLayout.callKeySize || key.count == V2CommitLayout.callKeySize + 40,
                  let row = try? CallRow(decoding: value),
                  let arguments = try? ContentHash(bytes: key[4..<V2CommitLayout.callKeySize]) else { return nil }
            let id = V2CommitLayout.id(key)
            let candidates = [copies[id], functionHashes[id].flatMap { functions[$0] }].compactMap { $0 }
            guard let planned = candidates.lazy.compactMap({ try? row.expand(function: $0, argumentsHash: arguments) }).first else { return nil }
            let inline: [UInt8]? = if case .inline(let bytes) = row.result { bytes } else { nil }
            return (planned.commit.hash, planned.commit, planned.record, inline)
        }
        /// Every commit the trees of the old file hold that proves itself; nil for a row that does not.
        func eachCommit(_ visit: ((hash: ContentHash, commit: Commit, record: [UInt8], inline: [UInt8]?)?) throws(CashetError) -> Void) throws(CashetError) {
            switch fromSchema {
            case .v1:
                try each("commits") { key, value throws(CashetError) in try visit(verified(key, value).map { ($0.0, $0.1, value, nil) }) }
            case .v2:
                for table in ["calls", "superseded"] { try each(table) { key, value throws(CashetError) in try visit(expanded(key, value)) } }
            }
        }
        var recorded: StoreRecords.Counters?
        var journalMark: [UInt8]?
        var usage: [UInt8]?
        try each("meta") { key, value in
            if key == Self.countersKey { recorded = try? StoreRecords.Counters(value) }
            if key == Self.journalMarkKey, (try? JournalMark(value)) != nil { journalMark = value }
            if key == Self.usageKey, CallUsage(value) != nil { usage = value }
        }
        var commits: [(commit: Commit, record: [UInt8], inline: [UInt8]?)] = []
        var restored: Set<ContentHash> = []
        /// Small results that went into their commits' rows (schema 2): their `blobs` rows go
        /// at the end unless a `putBlob` or a larger result still references them.
        var inlined: Set<ContentHash> = []
        func storeCommits() throws(CashetError) {
            try storeBlobs()   // first: the commits take references to them
            try writingState("rebuilding commits in \(path)") { txn, state in
                for (commit, record, inline) in commits {
                    var blob = commit.output.map { PreparedBlob(ref: $0, record: nil, staged: nil) }
                    if let output = commit.output, output.size <= self.tables.layout.inlineResultLimit {
                        let bytes = try inline ?? readBlob(output.hash, try locateBlob(output.hash, txn))
                        blob = PreparedBlob(ref: output, record: ([StoreRecords.BlobEncoding.raw.rawValue] + bytes, bytes.count + 1), staged: nil)
                        inlined.insert(output.hash)
                    }
                    try storeCommit(commit, record: record, blob: blob, keepNewerHead: true, txn, &state)
                }
            }
            commits.removeAll(keepingCapacity: true)
            progress?(restored.count, recorded?.commits ?? restored.count)
        }
        /// Queues a verified commit when its result was kept (or it has none); joins its
        /// function's source (the record holds none).
        func keepCommit(_ hash: ContentHash, _ bare: Commit, _ record: [UInt8], inline: [UInt8]? = nil) throws(CashetError) -> Bool {
            guard !restored.contains(hash) else { return true }
            guard inline != nil || bare.output.map({ kept.contains($0.hash) }) ?? true else { return false }
            var commit = bare
            commit.task.details = sources[bare.fingerprint.functionHash] ?? .none
            commits.append((commit, record, inline))
            restored.insert(hash)
            if commits.count == batchSize { try storeCommits() }
            return true
        }

        // Results still to find, by hash: their logical size (from the commits that name them).
        var missing: [ContentHash: Int] = [:]
        var unverified = 0, waiting = 0
        try eachCommit { found throws(CashetError) in
            guard let (hash, commit, record, inline) = found else {
                unverified += 1
                return
            }
            if try !keepCommit(hash, commit, record, inline: inline), let output = commit.output {
                missing[output.hash] = output.size
                waiting += 1
            }
        }
        try storeCommits()

        // Cut off from their trees: commits that prove themselves, and rows of blobs not kept.
        var looseCommits: [ContentHash: (Commit, [UInt8], [UInt8]?)] = [:]
        // Rows of other tables keyed by a blob's hash (`blob_info`, `unreferenced`) are on such pages
        // too: every row whose value reads as a blob's location is a candidate.
        var looseBlobs: [ContentHash: [[UInt8]]] = [:]
        try walker.unreachedLeafRecords { key, value in
            if let (hash, commit, record, inline) = verified(key, value).map({ ($0.0, $0.1, value, [UInt8]?.none) }) ?? (fromSchema == .v2 ? expanded(key, value) : nil) {
                guard !restored.contains(hash) else { return }
                looseCommits[hash] = (commit, record, inline)
                if inline == nil, let output = commit.output, !kept.contains(output.hash) { missing[output.hash] = output.size }
            } else if let hash = try? ContentHash(bytes: key), !kept.contains(hash), (try? StoreRecords.decodeBlobLocation(value, hash: hash)) != nil {
                looseBlobs[hash, default: []].append(value)
            }
        }

        // The rows of those results: on the `blobs` tree without their `blob_info` row, or on
        // pages no tree reaches.
        if !missing.isEmpty {
            if !withoutInfo.isDisjoint(with: missing.keys) {
                try each("blobs") { key, value throws(CashetError) in
                    guard let hash = try? ContentHash(bytes: key), withoutInfo.contains(hash), let size = missing[hash] else { return }
                    _ = try keepBlob(hash, value, info: nil, size: size)
                }
            }
            for (hash, size) in missing.sorted(by: { $0.key.hex < $1.key.hex }) {
                for stored in looseBlobs[hash] ?? [] where !kept.contains(hash) { _ = try keepBlob(hash, stored, info: nil, size: size) }
            }
        }
        // The commits waiting for them, then those no tree reaches.
        if waiting > 0 {
            try eachCommit { found throws(CashetError) in
                if let (hash, commit, record, inline) = found, !restored.contains(hash), try keepCommit(hash, commit, record, inline: inline) { waiting -= 1 }
            }
        }
        for (hash, (commit, record, inline)) in looseCommits.sorted(by: { $0.key.hex < $1.key.hex }) {
            _ = try keepCommit(hash, commit, record, inline: inline)
        }
        try storeCommits()
        report.commitsKept = restored.count
        report.blobsKept = kept.count
        report.commitsLost = unverified + waiting
        // Commits on pages that could not be read at all are known only from the old counters.
        if let recorded { report.commitsLost = max(report.commitsLost, recorded.commits - restored.count) }
        try writingState("dropping the rows of results now kept with their commits in \(path)") { txn, state in
            for hash in inlined {
                if let raw = try txn.get(self.tables.blobInfo, hash.bytes), case let info = try StoreRecords.BlobInfo(raw), info.references == 0 {
                    _ = try dropBlob(hash, info, txn, &state)
                }
            }
            // Journal records below the old file's mark were applied to it, so to this one.
            if let journalMark { try txn.put(self.tables.meta, Self.journalMarkKey, journalMark) }
            if let usage { try txn.put(self.tables.meta, Self.usageKey, usage) }
        }

        guard let access = self.tables.access else { return }
        var times: [([UInt8], [UInt8])] = []
        try each("access") { key, value in
            if let hash = try? ContentHash(bytes: key), restored.contains(hash), value.count == 8 { times.append((key, value)) }
        }
        try writing("rebuilding hit times in \(path)") { txn in
            for (key, value) in times { try txn.put(access, key, value) }
        }
    }
}
