/// The identity of one call: which function (`functionHash`) with which arguments (`argumentsHash`).
///
/// Rendered like the original as `func_hash:args_hash`. All commits of the same call share a
/// fingerprint; their chain is the call's history.
public struct Fingerprint: Hashable, Sendable, CustomStringConvertible {
    /// SHA-256 of the function's identity (normalized source, or name and version).
    public let functionHash: ContentHash
    /// SHA-256 of the canonically encoded arguments.
    public let argumentsHash: ContentHash

    /// Creates a fingerprint from its two halves.
    public init(functionHash: ContentHash, argumentsHash: ContentHash) {
        self.functionHash = functionHash
        self.argumentsHash = argumentsHash
    }

    /// Parses `func_hash:args_hash` (two 64-character hex hashes).
    public init(_ text: String) throws(CashetError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw CashetError(.invalidHash, "'\(text)' is not a fingerprint (expected func_hash:args_hash)")
        }
        self.init(functionHash: try ContentHash(hex: String(parts[0])), argumentsHash: try ContentHash(hex: String(parts[1])))
    }

    /// Runs `body` on the 64 bytes of ``bytes``, kept on the stack (a tuple of two homogeneous
    /// word tuples is laid out without padding).
    package func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: (functionHash.bigEndianWords, argumentsHash.bigEndianWords), body)
    }

    /// 64 bytes: function hash then arguments hash (the LMDB key).
    package var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(64)
        functionHash.append(to: &out)
        argumentsHash.append(to: &out)
        return out
    }

    package init(bytes: ArraySlice<UInt8>) throws(CashetError) {
        guard bytes.count == 64 else { throw CashetError(.corruptData, "a fingerprint has 64 bytes, got \(bytes.count)") }
        let start = bytes.startIndex
        self.init(functionHash: try ContentHash(bytes: bytes[start..<start + 32]),
                  argumentsHash: try ContentHash(bytes: bytes[start + 32..<start + 64]))
    }

    public var description: String { "\(functionHash.hex):\(argumentsHash.hex)" }
}

/// A stored blob: its SHA-256 and its size in bytes (before compression).
public struct ObjectRef: Hashable, Sendable, Codable, CustomStringConvertible {
    /// SHA-256 of the blob's bytes.
    public let hash: ContentHash
    /// Length of the blob in bytes.
    public let size: Int

    /// Creates a reference.
    public init(hash: ContentHash, size: Int) {
        self.hash = hash
        self.size = size
    }

    public var description: String { "\(hash.hex) (\(size) bytes)" }
}
