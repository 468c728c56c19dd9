import CCashetXXHash

/// XXH3: a fast, non-cryptographic in-process prehash and file checksum. Never a content address.
enum XXHash {
    static func hash64(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        // XXH3 only reads the buffer, which lives for the call.
        UInt64(cashet_xxh3_64(bytes.baseAddress, bytes.count))
    }

    static func hash64(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { hash64($0) }
    }

    /// XXH3-64 of `bytes[range]` with `seed` (a chain: each checksum seeds the next).
    static func hash64(_ bytes: [UInt8], _ range: Range<Int>, seed: UInt64) -> UInt64 {
        // XXH3 only reads the buffer, which lives for the call; `range` lies inside it.
        bytes.withUnsafeBytes { buffer in
            let part = UnsafeRawBufferPointer(rebasing: buffer[range])
            return UInt64(cashet_xxh3_64_seeded(part.baseAddress, part.count, seed))
        }
    }

    /// XXH3-128: wide enough that two different byte strings of one process never meet by chance.
    static func hash128(_ bytes: [UInt8]) -> (low: UInt64, high: UInt64) {
        // XXH3 only reads the buffer, which lives for the call.
        let hash = bytes.withUnsafeBytes { buffer in cashet_xxh3_128(buffer.baseAddress, buffer.count) }
        return (UInt64(hash.low64), UInt64(hash.high64))
    }

    /// XXH3-64 over data that arrives in pieces.
    struct Streaming: ~Copyable {
        // Owned exclusively by this value: created in init, freed in deinit.
        private let state: OpaquePointer?

        init() { state = cashet_xxh3_64_start() }

        func update(_ bytes: UnsafeRawBufferPointer) {
            guard let state, bytes.count > 0 else { return }
            cashet_xxh3_64_update(state, bytes.baseAddress, bytes.count)
        }

        /// The hash of everything so far.
        func digest() -> UInt64 {
            guard let state else { return 0 }
            return UInt64(cashet_xxh3_64_digest(state))
        }

        deinit { if let state { cashet_xxh3_64_free(state) } }
    }
}
