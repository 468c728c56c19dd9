import Synchronization

/// Remembers the SHA-256 of byte strings this process already hashed, keyed by their XXH3-128
/// and length, so hashing the same bytes again costs an XXH3 pass (~45 GB/s) instead of
/// SHA-256 (~1.8 GB/s).
///
/// Safe because the memo only ever answers with a SHA-256 computed from bytes that had the
/// same XXH3-128 and length: two different inputs would have to collide in 128 bits by chance
/// (XXH3 is not built against deliberate collisions, so this trusts that one process does not
/// hash attacker-crafted pairs). Bounded: when full it starts over.
final class PrehashMemo: Sendable {
    private struct Key: Hashable {
        let low: UInt64
        let high: UInt64
        let count: Int
    }

    /// Inputs shorter than this go straight to SHA-256, which is then cheaper than the memo.
    let minimumSize: Int
    private let capacity: Int
    private let entries = Mutex<[Key: ContentHash]>([:])

    init(capacity: Int, minimumSize: Int = 1024) {
        self.capacity = capacity
        self.minimumSize = minimumSize
    }

    /// Argument lists: shared by every function in the process.
    static let arguments = PrehashMemo(capacity: 16_384)

    /// The SHA-256 of `bytes`, from the memo when these bytes were hashed before.
    func hash(_ bytes: [UInt8]) -> ContentHash { lookup(bytes).hash }

    /// The SHA-256 of `bytes`, and whether the memo already knew it (these bytes were hashed
    /// through this memo before).
    func lookup(_ bytes: [UInt8]) -> (hash: ContentHash, known: Bool) {
        guard capacity > 0, bytes.count >= minimumSize else { return (SHA256Hasher.hash(bytes), false) }
        let prehash = XXHash.hash128(bytes)
        let key = Key(low: prehash.low, high: prehash.high, count: bytes.count)
        if let known = entries.withLock({ $0[key] }) { return (known, true) }
        let hash = SHA256Hasher.hash(bytes)
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = hash
        }
        return (hash, false)
    }
}
