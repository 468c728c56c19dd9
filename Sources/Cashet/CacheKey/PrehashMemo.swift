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
    /// XXH3-128 and length of some bytes.
    struct Key: Hashable, Sendable {
        let low: UInt64
        let high: UInt64
        let count: Int
    }

    /// Short bytes, kept whole as their own key: an exact match, so nothing is trusted.
    struct ShortKey: Hashable, Sendable {
        let bytes: [UInt8]
        func hash(into hasher: inout Hasher) { bytes.withUnsafeBytes { hasher.combine(bytes: $0) } }
    }

    /// Inputs shorter than this go straight to SHA-256 (or to the short memo), which is then
    /// cheaper than an XXH3 pass and a key of their own.
    let minimumSize: Int
    /// Inputs of at most this many bytes are remembered by the bytes themselves (0: never).
    let shortLimit: Int
    private let capacity: Int
    private let entries = Locked<[Key: ContentHash]>([:])
    private let shortEntries = Locked<[ShortKey: ContentHash]>([:])

    init(capacity: Int, minimumSize: Int = 1024, shortLimit: Int = 0) {
        self.capacity = capacity
        self.minimumSize = minimumSize
        self.shortLimit = min(shortLimit, minimumSize - 1)
    }

    /// Argument lists: shared by every function in the process. A hit hashes the same short
    /// list again and again (an `Int`'s is 10 bytes): a lookup costs less than SHA-256 does.
    static let arguments = PrehashMemo(capacity: 16_384, shortLimit: 256)

    /// The SHA-256 of `bytes`, from the memo when these bytes were hashed before.
    func hash(_ bytes: [UInt8]) -> ContentHash {
        if capacity > 0, bytes.count <= shortLimit { return memoized(bytes, key: ShortKey(bytes: bytes), in: shortEntries) }
        guard let key = key(for: bytes) else { return SHA256Hasher.hash(bytes) }
        return memoized(bytes, key: key, in: entries)
    }

    /// The memo key of `bytes`; nil when the memo is off or the bytes are too short to be worth it.
    func key(for bytes: [UInt8]) -> Key? {
        guard capacity > 0, bytes.count >= minimumSize else { return nil }
        let prehash = XXHash.hash128(bytes)
        return Key(low: prehash.low, high: prehash.high, count: bytes.count)
    }

    /// The SHA-256 remembered for `key`, if any.
    func hash(forKey key: Key) -> ContentHash? { entries.withLock { $0[key] } }

    /// Remembers the SHA-256 of the bytes `key` was computed from.
    func remember(_ hash: ContentHash, forKey key: Key) { remember(hash, key: key, in: entries) }

    /// The SHA-256 of `bytes` from `table` under `key`, computed and remembered when missing.
    private func memoized<K: Hashable & Sendable>(_ bytes: [UInt8], key: K, in table: Locked<[K: ContentHash]>) -> ContentHash {
        if let known = table.withLock({ $0[key] }) { return known }
        let hash = SHA256Hasher.hash(bytes)
        remember(hash, key: key, in: table)
        return hash
    }

    /// Puts `hash` in `table` under `key`; a full table starts over.
    private func remember<K: Hashable & Sendable>(_ hash: ContentHash, key: K, in table: Locked<[K: ContentHash]>) {
        table.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = hash
        }
    }
}
