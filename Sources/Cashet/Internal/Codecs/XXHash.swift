import CCashetXXHash

/// XXH3-64: a fast, non-cryptographic in-process prehash. Never a content address.
enum XXHash {
    static func hash64(_ bytes: [UInt8]) -> UInt64 {
        // The buffer lives for the duration of the call; XXH3 only reads it.
        bytes.withUnsafeBytes { buffer in UInt64(cashet_xxh3_64(buffer.baseAddress, buffer.count)) }
    }
}
