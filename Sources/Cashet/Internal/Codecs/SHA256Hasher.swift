import Crypto

/// SHA-256, the content address of every blob, commit and argument list.
package enum SHA256Hasher {
    package static func hash(_ bytes: [UInt8]) -> ContentHash {
        ContentHash(digest: SHA256.hash(data: bytes))
    }

    static func hash(_ parts: [UInt8]...) -> ContentHash {
        var hasher = SHA256()
        for part in parts { hasher.update(data: part) }
        return ContentHash(digest: hasher.finalize())
    }
}

extension ContentHash {
    /// The SHA-256 of `bytes`: the address a store gives them (a result's ``ResultRef/hash``
    /// is this of its serialized bytes).
    public init(hashing bytes: [UInt8]) {
        self = SHA256Hasher.hash(bytes)
    }

    init(digest: SHA256.Digest) {
        self = digest.withUnsafeBytes { ContentHash(unchecked: $0) }
    }
}
