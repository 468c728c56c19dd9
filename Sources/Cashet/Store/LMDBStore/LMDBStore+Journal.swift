import Foundation

/// The journal in front of LMDB (``Configuration/Durability/normal``; docs/design/storage-v2.md
/// §2.3): recording appends a commit to it and returns; a flush applies it in one synced LMDB
/// transaction that also records how far it applied (so a crash between the two never applies
/// a record twice), and only then starts a new generation.
extension LMDBStore {
    /// A flush is due once a generation holds this many records or payload bytes.
    static let journalRecordLimit = 2048
    static let journalByteLimit = 4 << 20
    /// Batches larger than this go straight to LMDB (one synced transaction already amortises).
    static let journalBatchLimit = 64
    /// Results stored larger than this go straight to LMDB: their sync is small beside their
    /// bytes, and the overlay (every process's memory) keeps the journal's results until a flush.
    static let journalResultLimit = 64 << 10

    /// Whether `blobs` may be journaled: small, and none staged to a file.
    static func journalable(_ blobs: [PreparedBlob?]) -> Bool {
        blobs.allSatisfy { blob in
            guard let blob else { return true }
            return blob.staged == nil && (blob.record?.storedSize ?? 0) <= journalResultLimit
        }
    }

    static let journalMarkKey = Array("journal".utf8)

    /// The mark in LMDB: every journal record numbered below it is applied.
    func journalMark(_ txn: LMDBTransaction) throws -> JournalMark? {
        try txn.get(tables.meta, Self.journalMarkKey).map(JournalMark.init)
    }

    /// Records `drafts` through the journal, when this store journals and every result is small;
    /// nil when it does not apply (then the caller writes directly) or when a result the
    /// preparation found stored is gone (then the caller prepares again in full).
    func recordJournaled(_ drafts: [CommitDraft], _ blobs: [PreparedBlob?]) throws(CashetError) -> [Commit]? {
        guard let journal else { return nil }
        let commits = try journal.exclusively { (session: inout CommitJournal.Session) throws(CashetError) -> [Commit]? in
            // A flush due (or a header missing) first: its failure (a full map) fails this call
            // with nothing recorded, never after the commit was acknowledged.
            if session.header == nil || session.fileRecords >= Self.journalRecordLimit || session.fileBytes >= Self.journalByteLimit {
                try applyJournal(&session)
            }
            // Results found stored before must still be; parents are the newest heads, journaled or not.
            let mustExist = blobs.compactMap { $0 }.filter { $0.record == nil && !session.hasResult($0.ref.hash) }.map(\.ref.hash)
            var heads: [Fingerprint: ContentHash] = [:]
            for draft in drafts { if let head = session.head(draft.fingerprint) { heads[draft.fingerprint] = head.commit } }
            let planned = try reading(CommitPlanner.action(recording: drafts)) { txn -> [PlannedCommit]? in
                for hash in mustExist { guard try txn.get(tables.blobInfo, hash.bytes) != nil else { return nil } }
                for draft in drafts where heads[draft.fingerprint] == nil {
                    heads[draft.fingerprint] = try tables.layout.head(draft.fingerprint, txn)?.head.commit
                }
                return CommitPlanner.plan(drafts, outputs: blobs.map { $0?.ref }, heads: heads)
            }
            guard let planned else { return nil }
            let journaled = zip(planned, blobs).map { planned, blob in
                // Without the manifest: ensureManifests(of:) wrote it to data.mdb.
                JournaledCommit(commit: planned.commit, record: planned.record,
                                function: CanonicalCommit.encodeFunction(name: planned.commit.task.functionName, version: planned.commit.task.functionVersion,
                                                                         details: FunctionDetails(source: planned.commit.task.source)),
                                result: blob.map { blob in blob.record.map { .inline(blob.ref, row: $0.stored) } ?? .stored(blob.ref) })
            }
            try session.append(journaled)
            return planned.map(\.commit)
        }
        if commits != nil { scheduleJournalFlush() }
        return commits
    }

    /// Applies whatever the journal holds (this process's records or any other's), holding its
    /// lock throughout, and starts a new generation.
    func flushJournal() throws(CashetError) {
        guard let journal, !configuration.readOnly else { return }
        try journal.exclusively { (session: inout CommitJournal.Session) throws(CashetError) in try applyJournal(&session) }
    }

    /// The timer's flush: reads the journal under its lock, applies it without holding it (so
    /// appends and lookups go on, on another core), and starts a new generation only if nothing
    /// was appended meanwhile. Otherwise the file keeps its applied records (the mark skips them)
    /// until a flush under the lock, due at the file's limits, finds little left to apply.
    func flushJournalAside() throws(CashetError) {
        guard let snapshot = try journalSnapshot() else { return }
        try applyAside(snapshot)
    }

    /// The first step of ``flushJournalAside()``: the journal as it is, read under its lock.
    func journalSnapshot() throws(CashetError) -> CommitJournal.Snapshot? {
        guard let journal, !configuration.readOnly else { return nil }
        return try journal.exclusively { (session: inout CommitJournal.Session) throws(CashetError) in try session.snapshot() }
    }

    /// The rest of ``flushJournalAside()``: `snapshot` applied without the journal's lock, then
    /// a new generation if the journal still ends where the snapshot did.
    func applyAside(_ snapshot: CommitJournal.Snapshot) throws(CashetError) {
        guard let journal else { return }
        let next = try apply(snapshot)
        try journal.exclusively { (session: inout CommitJournal.Session) throws(CashetError) in
            session.noteApplied(below: next)
            if session.header == snapshot.header && session.end == snapshot.end { try session.reset(numberingFrom: next) }
        }
    }

    /// Applies the session's records to LMDB in one synced transaction, then starts a new
    /// generation. Sequence numbers run on across generations, and the mark in LMDB says where
    /// applying stopped: a record numbered below it was applied, whatever generation a power cut
    /// left in the file (the journal is never synced, so an older generation can reappear).
    func applyJournal(_ session: inout CommitJournal.Session) throws(CashetError) {
        guard session.header != nil else {
            // No valid header (new, or torn by a power cut): number on from what LMDB applied.
            let mark = try reading("reading the journal mark") { txn in try journalMark(txn) }
            return try session.reset(numberingFrom: mark?.next ?? 0)
        }
        guard let snapshot = try session.snapshot() else {
            if session.fileRecords > 0 && session.unapplied == 0 {
                try session.reset(numberingFrom: session.nextSequence)   // applied aside
            }
            return
        }
        try session.reset(numberingFrom: try apply(snapshot))
    }

    /// One synced LMDB transaction applying every record of `snapshot` at or past the mark, and
    /// moving the mark past them; returns the new mark. The mark is read inside the transaction,
    /// so flushes of several threads or processes, aside or not, never apply a record twice.
    private func apply(_ snapshot: CommitJournal.Snapshot) throws(CashetError) -> UInt64 {
        let records = try snapshot.records()
        let count = records.reduce(0) { $0 + $1.commits.count }
        return try withPendingAccess { pending throws(CashetError) in try writingDirectly("applying \(count) journaled commits", synced: true) { txn -> UInt64 in
            let applied = try journalMark(txn)?.next ?? 0
            try withWriteState(txn, access: pending) { txn, state in
                for (sequence, commits) in records where sequence >= applied {
                    for entry in commits {
                        let blob = entry.result.map { result in
                            switch result {
                            case .stored(let ref): PreparedBlob(ref: ref, record: nil, staged: nil)
                            case .inline(let ref, let row): PreparedBlob(ref: ref, record: (row, row.count), staged: nil)
                            }
                        }
                        try storeCommit(entry.commit, record: entry.record, blob: blob, keepNewerHead: false, txn, &state)
                    }
                }
            }
            let next = max(applied, (records.last?.sequence).map { $0 &+ 1 } ?? snapshot.header.baseSequence)
            try txn.put(tables.meta, Self.journalMarkKey, JournalMark(salt: snapshot.header.salt, next: next).bytes)
            return next
        } }
    }

    /// Flushes aside after ``Configuration/journalFlushInterval`` unless a flush is on its way.
    /// The flag stays up until that flush is done, so timed flushes never overlap: a commit
    /// appended during one is applied by the next (at most two intervals after it), which is
    /// what the power-loss campaign's `normal` mode holds the store to.
    private func scheduleJournalFlush() {
        guard !journalFlushScheduled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let interval = configuration.journalFlushInterval
        // Weak: a store its owner let go of closes now, not when the timer fires (and its
        // environment, shared in the process, goes with it). Cancelled by `close()`, which
        // applies the journal itself.
        let started = backgroundFlushes.start { [weak self] in
            do { try await Task.sleep(for: interval) } catch { return }
            guard let self else { return }
            do {
                try flushJournalAside()
            } catch {
                logger.warning("journal flush failed; its commits stay in the journal until a flush succeeds", metadata: ["error": "\(error)"])
            }
            journalFlushScheduled.store(false, ordering: .releasing)
            if journal?.hasUnapplied == true { scheduleJournalFlush() }
        }
        if !started { journalFlushScheduled.store(false, ordering: .releasing) }
    }

    /// The journal's commits, for listings and counts to merge with what LMDB has (see
    /// ``unapplied(_:_:)``): a read-only store cannot flush, and a listing never waits for (or
    /// fails with) a flush. Read before the LMDB transaction: a flush in between only adds to LMDB.
    func journaledForListing() throws(CashetError) -> [Commit] {
        try journaled { overlay in Array(overlay.commits.values) } ?? []
    }

    /// Those of `journaled` that LMDB does not have yet, oldest first, with their functions'
    /// manifests joined.
    func unapplied(_ journaled: [Commit], _ txn: LMDBTransaction) throws -> [Commit] {
        var manifests: [ContentHash: IdentityManifest?] = [:]   // one row read per function
        return try journaled.filter { try !tables.layout.contains($0.hash, txn) }.sorted { $0.createdAt < $1.createdAt }.map { commit in
            try withManifest(commit, txn, &manifests)
        }
    }

    /// A journaled commit with its function's manifest, which the journal does not hold (see
    /// ``ensureManifests(of:)``), from data.mdb's row; `known` remembers rows already read.
    func withManifest(_ commit: Commit, _ txn: LMDBTransaction, _ known: inout [ContentHash: IdentityManifest?]) throws -> Commit {
        let function = commit.fingerprint.functionHash
        guard commit.task.identityManifest == nil else { return commit }
        if known[function] == nil {
            known[function] = .some(try tables.functionDetails.row(of: function, in: tables.sources, txn)?.details.manifest)
        }
        guard let manifest = known[function] ?? nil else { return commit }
        var joined = commit
        joined.task.identityManifest = manifest
        return joined
    }

    /// A journal lookup for point reads: the overlay's answer, or nil to ask LMDB.
    func journaled<T>(_ lookup: (borrowing JournalOverlay) -> T?) throws(CashetError) -> T? {
        guard let journal else { return nil }
        return try journal.reading { (overlay: borrowing JournalOverlay) throws(CashetError) -> T? in
            overlay.isEmpty ? nil : lookup(overlay)
        }
    }
}

/// How far the journal was applied: every record numbered below `next` (in whatever generation;
/// `salt` names the last one applied, for diagnosis).
struct JournalMark {
    let salt: UInt64
    let next: UInt64

    init(salt: UInt64, next: UInt64) { (self.salt, self.next) = (salt, next) }

    init(_ bytes: [UInt8]) throws(CashetError) {
        var r = ByteReader(bytes, what: "journal mark")
        (salt, next) = (try r.readFixedLittleEndian(), try r.readFixedLittleEndian())
    }

    var bytes: [UInt8] {
        var w = ByteWriter(capacity: 16)
        w.appendFixedLittleEndian(salt)
        w.appendFixedLittleEndian(next)
        return w.bytes
    }
}
