import Synchronization

/// Function rows (source and identity manifest) decoded once, not once per commit read: every
/// commit a read expands joins its function's row, and a manifest can hold thousands of
/// helpers. An entry is used only while the row is byte for byte the one it was decoded from
/// (same length and XXH3-64: a filled row, or one written again after a removal, decodes
/// anew); the row is read in place, not copied, to check that.
final class FunctionDetailsCache: Sendable {
    /// A decoded row: its name and version (which schema 2 checks commit hashes with) and its
    /// source and manifest.
    struct Row {
        let name: String
        let version: String
        let details: FunctionDetails
    }

    private struct Entry {
        let length: Int
        let checksum: UInt64
        let row: Row
    }

    /// Past this many functions the cache starts over (a store has few functions; this bounds
    /// memory when one has many).
    private static let capacity = 1024
    private let entries = Mutex<[ContentHash: Entry]>([:])

    /// Function `hash`'s row in `sources`, nil if it has none; a row that does not decode throws.
    func row(of hash: ContentHash, in sources: LMDBDatabase, _ txn: LMDBTransaction) throws -> Row? {
        let key = hash.bytes
        return try key.withUnsafeBytes { key in
            try txn.withValue(sources, key: key) { value throws -> Row in
                let checksum = XXHash.hash64(value)
                if let entry = entries.withLock({ $0[hash] }), entry.length == value.count, entry.checksum == checksum { return entry.row }
                let function = try CanonicalCommit.decodeFunction(Array(value))
                let row = Row(name: function.name, version: function.version, details: function.details)
                entries.withLock { entries in
                    if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
                    entries[hash] = Entry(length: value.count, checksum: checksum, row: row)
                }
                return row
            }
        }
    }
}
