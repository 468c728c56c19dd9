import Foundation

/// The file `journal` in a store's root: a header page, then records (``JournalFormat``). It is
/// written at the end its last valid record leaves (never at EOF: a writer killed mid-append
/// leaves a torn tail that the next record overwrites), never synced, and cut back to its first
/// page when a flush has applied it. This type knows bytes and locks; what the records mean is
/// the store's.
final class JournalFile: Sendable {
    let file: PosixFile
    /// The shared hints in the first page, mapped.
    let hints: JournalHints
    /// A journal longer than this is damage: its records are read only this far (a journal is
    /// flushed at a few MiB).
    static let readLimit = 256 << 20
    static let name = "journal"

    /// Opens the journal of the store at `root`; writable, creates it (or gives it back its first
    /// page when it was cut short); read-only, nil when there is none. A first page without a
    /// valid header holds no records; the store writes one (numbering on from what LMDB has
    /// applied) before its first append.
    /// A link in its place (never followed) leaves the store without a journal: it writes
    /// directly, as `.durable` does, and `fsck` reports the link, which `--repair` removes.
    init?(root: StoreRoot, writable: Bool, mode: mode_t) throws(CashetError) {
        guard try root.handle.kind(of: Self.name) != .symbolicLink,
              let opened = try root.handle.openFile(Self.name, flags: writable ? O_RDWR | O_CREAT : O_RDONLY, mode: mode) else {
            return nil
        }
        guard let size = try opened.regularFileSize() else {
            throw CashetError(.corruptData, "\(opened.path) is not a regular file; the store is damaged")
        }
        if size < JournalFormat.headerSize {
            // New, or cut short (no record can lie in a file without its whole first page).
            guard writable else { return nil }
            try opened.lockBlocking()
            defer { opened.unlock() }
            if try opened.regularFileSize() ?? 0 < JournalFormat.headerSize {
                try opened.truncate(to: JournalFormat.headerSize)
                try root.handle.sync()   // the name, once: a power cut must not lose the file itself
            }
        }
        file = opened
        hints = try JournalHints(file, writable: writable)
    }

    /// A header with a new random salt, numbering its records from `sequence`.
    static func freshHeader(after sequence: UInt64) -> JournalFormat.Header {
        JournalFormat.Header(salt: UInt64.random(in: 1...UInt64.max), baseSequence: sequence)
    }

    /// The current generation's header, or nil when the first page does not hold a valid one.
    func header() throws(CashetError) -> JournalFormat.Header? {
        JournalFormat.decodeHeader(try file.readBytes(at: 0, count: 64))
    }

    /// The file's bytes from `offset` up to `end` (nil: to the end of the file), never past
    /// ``readLimit``.
    func bytes(from offset: Int, upTo end: Int? = nil) throws(CashetError) -> [UInt8] {
        let size = min(try file.regularFileSize() ?? 0, Self.readLimit)
        let stop = min(end ?? size, size)
        guard stop > offset else { return [] }
        return try file.readBytes(at: offset, count: stop - offset)
    }

    /// Writes `record` at `offset` (the end of the last valid record).
    func append(_ record: [UInt8], at offset: Int) throws(CashetError) {
        try file.writeAll(record, at: offset)
    }

    /// Starts a new generation: a fresh header page, and the file cut back to it. Only after the
    /// records were applied durably: a reset before that could lose acknowledged commits.
    func reset(to header: JournalFormat.Header) throws(CashetError) {
        try file.writeAll(JournalFormat.encode(header), at: 0)
        try file.truncate(to: JournalFormat.headerSize)
        hints.publish(salt: header.salt, end: JournalFormat.headerSize)
    }

    /// Runs `body` holding the journal's cross-process lock (`flock`; lock order: the journal,
    /// then LMDB's writer lock).
    func withLock<T>(_ body: () throws(CashetError) -> T) throws(CashetError) -> T {
        try file.lockBlocking()
        defer { file.unlock() }
        return try body()
    }
}
