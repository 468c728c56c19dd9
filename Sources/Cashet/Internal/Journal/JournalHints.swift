import CCashetSystem

/// Two words every process with the store open shares through the journal's first page (mapped
/// `MAP_SHARED`): the salt of the current generation and the end of its last published record.
/// Checking them is two loads, so a lookup learns whether another process appended without a
/// system call. They are hints, never trusted: a reader verifies every record it takes (see
/// ``JournalFormat/scanRecords(_:startingAt:cursor:)``), and they are never synced, so after a
/// power cut they may be stale.
final class JournalHints: @unchecked Sendable {
    // @unchecked: `page` is only read and written through the C atomics below, and unmapped in
    // deinit when no other reference is left.
    private let page: UnsafeMutableRawPointer
    private let writable: Bool
    private static let saltWord = 8, endWord = 9   // bytes 64..<80, after the header

    /// Maps the first page of the open journal `file` (which must be at least that long).
    init(_ file: borrowing PosixFile, writable: Bool) throws(CashetError) {
        guard let page = cashet_map_shared_page(file.descriptor, JournalFormat.headerSize, writable ? 1 : 0) else {
            throw PosixFile.error("cannot map the first page of", file.path)
        }
        (self.page, self.writable) = (page, writable)
    }

    deinit { cashet_unmap_shared_page(page, JournalFormat.headerSize) }

    var salt: UInt64 { cashet_shared_word_load(page, Self.saltWord) }
    var end: UInt64 { cashet_shared_word_load(page, Self.endWord) }

    /// Publishes a new end (and salt, after a reset); only a holder of the journal lock calls it.
    func publish(salt: UInt64, end: Int) {
        guard writable else { return }
        cashet_shared_word_store(page, Self.saltWord, salt)
        cashet_shared_word_store(page, Self.endWord, UInt64(end))
    }
}
