/// A store's journal as this process sees it: the file, how far this process has read it, and
/// the overlay of what it read, behind one lock. Readers catch up only to the end other writers
/// published (they never see a record before its writer acknowledged it); writers, holding the
/// file's lock, catch up to the end of the file (a record a killed writer wrote whole but never
/// published is kept, never overwritten under a reader that may have seen it).
final class CommitJournal: Sendable {
    let file: JournalFile
    private let view: Locked<View>
    /// This process's writer lock (the file's `flock` is shared by every thread of the process).
    /// Held for a whole write, LMDB transaction and sync included, while `view` is held only for
    /// each short step: a lookup never waits for a writer's sync (map's group commit stalled
    /// every lookup of the process for its fsync).
    private let writer = Locked(())

    /// What this process has read of the current generation.
    struct View {
        var header: JournalFormat.Header?
        var cursor: JournalFormat.Cursor
        /// The hints as they were when this view last caught up.
        var observed: (salt: UInt64, end: UInt64) = (0, 0)
        var overlay = JournalOverlay()
        /// Records and payload bytes in the generation (what bounds the file and the overlay).
        var records = 0
        var bytes = 0
        /// Records numbered below this are known to be applied (a flush that left the file as it
        /// was, because writers appended meanwhile).
        var applied: UInt64 = 0

        init(_ header: JournalFormat.Header?) {
            self.header = header
            cursor = JournalFormat.Cursor(header ?? JournalFormat.Header(salt: 0, baseSequence: 0))
        }

        /// Records not known to be applied.
        var unapplied: Int {
            guard let header else { return 0 }
            return Int(clamping: cursor.nextSequence &- max(applied, header.baseSequence))
        }

        /// Takes in one record (appended by this process or read from the file).
        mutating func add(_ commits: [JournaledCommit], payloadBytes: Int) {
            overlay.add(commits)
            records += 1
            bytes += payloadBytes
        }
    }

    init(_ file: JournalFile) throws(CashetError) {
        self.file = file
        var view = View(nil)
        try Self.catchUp(&view, file, toEndOfFile: true)
        self.view = Locked(view)
    }

    /// Runs `body` on the overlay after catching up with what other processes published: the
    /// lookup path (two shared loads when nothing changed).
    func reading<T>(_ body: (borrowing JournalOverlay) throws(CashetError) -> T) throws(CashetError) -> T {
        var result: T?   // out through a local, as in ``exclusively(_:)``
        try view.withLock { (view: inout View) throws(CashetError) in
            try Self.catchUp(&view, file, toEndOfFile: false)
            result = try body(view.overlay)
        }
        return result!
    }

    /// Whether records this process knows of are not known to be applied (no file access).
    var hasUnapplied: Bool { view.withLock { view in view.unapplied > 0 } }

    /// Runs `body` holding this process's writer lock and the file's, caught up to the end of the
    /// file: no other writer of any process appends or flushes until it returns. Lock order: the
    /// writer lock, the file's, then (briefly, inside each step) the view's.
    func exclusively<T>(_ body: (inout Session) throws(CashetError) -> T) throws(CashetError) -> T {
        // The result goes out through a local: the lock's closure may only return what is Sendable.
        var result: T?
        try writer.withLock { (_: inout Void) throws(CashetError) in
            try file.withLock { () throws(CashetError) in
                try view.withLock { (view: inout View) throws(CashetError) in try Self.catchUp(&view, file, toEndOfFile: true) }
                var session = Session(view: view, file: file)
                result = try body(&session)
            }
        }
        return result!
    }

    /// What a holder of the writer locks may do. Each step takes the view's lock for itself, so
    /// lookups of other threads go on between steps; they never see a step half done.
    struct Session: ~Copyable {
        fileprivate let view: Locked<View>
        fileprivate let file: JournalFile

        /// The journaled head of `fingerprint` (the overlay itself is not handed out: a copy
        /// held across an append would make it copy its tables).
        func head(_ fingerprint: Fingerprint) -> CommitHead? { view.withLock { $0.overlay.heads[fingerprint] } }
        /// Whether a journaled commit names result `hash`.
        func hasResult(_ hash: ContentHash) -> Bool { view.withLock { $0.overlay.results.contains(hash) } }
        var header: JournalFormat.Header? { view.withLock { $0.header } }
        /// Records and payload bytes in the file.
        var fileRecords: Int { view.withLock { $0.records } }
        var fileBytes: Int { view.withLock { $0.bytes } }
        /// Where the next record goes, and the number it gets.
        var end: Int { view.withLock { $0.cursor.offset } }
        var nextSequence: UInt64 { view.withLock { $0.cursor.nextSequence } }
        var unapplied: Int { view.withLock { $0.unapplied } }

        /// Notes that every record numbered below `sequence` is applied.
        mutating func noteApplied(below sequence: UInt64) { view.withLock { $0.applied = max($0.applied, sequence) } }

        /// Appends one record of `commits` and publishes it: once this returns, every process's
        /// next lookup sees them, and a crash of this process loses none of them. The write and
        /// the view's update are one step: a lookup sees the commits once, from the view.
        mutating func append(_ commits: [JournaledCommit]) throws(CashetError) {
            let payload = JournaledCommit.encode(commits)
            try view.withLock { [file] (view: inout View) throws(CashetError) in
                guard let header = view.header else { throw CashetError(.corruptData, "the journal \(file.file.path) has no valid header") }
                let (bytes, checksum) = JournalFormat.encodeRecord(payload, sequence: view.cursor.nextSequence, previousChecksum: view.cursor.chain)
                try file.append(bytes, at: view.cursor.offset)
                view.cursor.offset += bytes.count
                view.cursor.chain = checksum
                view.cursor.nextSequence &+= 1
                view.add(commits, payloadBytes: payload.count)
                file.hints.publish(salt: header.salt, end: view.cursor.offset)
                view.observed = (header.salt, UInt64(view.cursor.offset))
            }
        }

        /// The generation's bytes up to its last record, to decode with ``Snapshot/records()``
        /// (after the locks are let go, if the caller likes); nil when nothing is unapplied.
        func snapshot() throws(CashetError) -> Snapshot? {
            let (header, end) = view.withLock { view in (view.unapplied > 0 ? view.header : nil, view.cursor.offset) }
            guard let header else { return nil }
            // Only this session appends, so the bytes up to `end` stay as they are after the lock.
            return Snapshot(header: header, bytes: try file.bytes(from: 0, upTo: end), end: end)
        }

        /// Starts a new generation numbering its records from `sequence`: once every record is
        /// applied durably, or when the file has no valid header.
        mutating func reset(numberingFrom sequence: UInt64) throws(CashetError) {
            let header = JournalFile.freshHeader(after: sequence)
            try view.withLock { [file] (view: inout View) throws(CashetError) in
                try file.reset(to: header)
                view = View(header)
                view.observed = (header.salt, UInt64(JournalFormat.headerSize))
            }
        }
    }

    /// A generation's records as read under the lock.
    struct Snapshot: Sendable {
        let header: JournalFormat.Header
        let bytes: [UInt8]
        let end: Int

        /// Every record, with its sequence number, decoded.
        func records() throws(CashetError) -> [(sequence: UInt64, commits: [JournaledCommit])] {
            var cursor = JournalFormat.Cursor(header)
            return try JournalFormat.scanRecords(bytes, startingAt: 0, cursor: &cursor).map { record throws(CashetError) in
                (record.sequence, try JournaledCommit.decode(Array(bytes[record.payload])))
            }
        }
    }

    /// Reads what was published (or, for a writer, written) since `view` last looked. A new
    /// generation (a flush happened: LMDB now has every record of the old one) starts the view
    /// afresh; records are taken only while they verify.
    private static func catchUp(_ view: inout View, _ file: JournalFile, toEndOfFile: Bool) throws(CashetError) {
        let (salt, end) = (file.hints.salt, file.hints.end)
        guard toEndOfFile || salt != view.observed.salt || end != view.observed.end else { return }
        let header = try file.header()
        if header != view.header { view = View(header) }
        if header != nil {
            let start = view.cursor.offset
            let limit = toEndOfFile ? nil : Int(clamping: end)
            let bytes = try file.bytes(from: start, upTo: limit)
            for record in JournalFormat.scanRecords(bytes, startingAt: start, cursor: &view.cursor) {
                let payload = Array(bytes[(record.payload.lowerBound - start)..<(record.payload.upperBound - start)])
                view.add(try JournaledCommit.decode(payload), payloadBytes: payload.count)
            }
        }
        view.observed = (salt, end)
    }
}
