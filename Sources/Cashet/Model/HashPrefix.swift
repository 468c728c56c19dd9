/// A git-style abbreviated hash: at least 4 hex characters naming one commit or blob.
public struct HashPrefix: Sendable, Hashable, CustomStringConvertible {
    /// The shortest prefix accepted.
    public static let minimumLength = 4

    /// The prefix in lowercase hex.
    public let hex: String
    private let nibbles: [UInt8]

    /// Validates `text` as a hash prefix (4–64 hex characters).
    public init(_ text: String) throws(CashetError) {
        let lower = text.lowercased()
        guard lower.utf8.count >= Self.minimumLength, lower.utf8.count <= 64 else {
            throw CashetError(.invalidHash, "'\(text)' is not a hash prefix: use 4 to 64 hex characters")
        }
        var nibbles: [UInt8] = []
        for c in lower.utf8 {
            guard let n = Hex.nibble(c) else {
                throw CashetError(.invalidHash, "'\(text)' is not a hash prefix: '\(Character(Unicode.Scalar(c)))' is not a hex digit")
            }
            nibbles.append(n)
        }
        self.hex = lower
        self.nibbles = nibbles
    }

    /// The full hash, when the prefix has all 64 characters.
    public var fullHash: ContentHash? { nibbles.count == 64 ? try? ContentHash(hex: hex) : nil }

    /// The smallest 32-byte key that starts with this prefix (where a range scan begins).
    package var lowerBound: [UInt8] {
        var out = [UInt8](repeating: 0, count: ContentHash.byteCount)
        for (i, n) in nibbles.enumerated() { out[i / 2] |= i % 2 == 0 ? n << 4 : n }
        return out
    }

    /// Whether `key` (raw hash bytes) starts with this prefix.
    package func matches(_ key: [UInt8]) -> Bool {
        guard key.count * 2 >= nibbles.count else { return false }
        for (i, n) in nibbles.enumerated() {
            let byte = key[i / 2]
            if (i % 2 == 0 ? byte >> 4 : byte & 0x0f) != n { return false }
        }
        return true
    }

    public var description: String { hex }

    /// The one commit (or result) a store found for this prefix: `.notFound` for none,
    /// `.ambiguousHash` listing them for several (`more`: the store stopped looking after these).
    package func single(of candidates: [ContentHash], more: Bool, in location: String, noun: String = "commit") throws(CashetError) -> ContentHash {
        switch candidates.count {
        case 0:
            throw CashetError(.notFound, "no \(noun) matches '\(self)' in \(location)")
        case 1:
            return candidates[0]
        default:
            let list = candidates.map(\.shortHex).joined(separator: ", ")
            throw CashetError(.ambiguousHash, "'\(self)' matches several \(noun)s: \(list)\(more ? ", …" : ""); give more characters")
        }
    }
}
