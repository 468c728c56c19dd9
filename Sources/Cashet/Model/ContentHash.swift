/// A SHA-256 digest: the address of a blob, a commit, a function identity or an argument list.
///
/// Stored as 32 binary bytes; rendered as 64 lowercase hex characters.
public struct ContentHash: Hashable, Comparable, Sendable, CustomStringConvertible {
    // Four big-endian words: cheap to compare and hash, no heap allocation.
    private let w0, w1, w2, w3: UInt64

    /// The number of bytes in a digest.
    public static let byteCount = 32

    init(unchecked buffer: UnsafeRawBufferPointer) {
        func word(_ i: Int) -> UInt64 { UInt64(bigEndian: buffer.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) }
        w0 = word(0); w1 = word(1); w2 = word(2); w3 = word(3)
    }

    /// Creates a hash from exactly 32 bytes.
    public init(bytes: some Collection<UInt8>) throws(CashetError) {
        guard bytes.count == Self.byteCount else {
            throw CashetError(.invalidHash, "a content hash has 32 bytes, got \(bytes.count)")
        }
        // Contiguous inputs (arrays, slices) are read in place; others are copied once.
        if let hash = bytes.withContiguousStorageIfAvailable({ ContentHash(unchecked: UnsafeRawBufferPointer($0)) }) {
            self = hash
        } else {
            self = Array(bytes).withUnsafeBytes { ContentHash(unchecked: $0) }
        }
    }

    /// Parses 64 hex characters.
    public init(hex: String) throws(CashetError) {
        guard hex.utf8.count == 64, let bytes = Hex.decode(hex) else {
            throw CashetError(.invalidHash, "'\(hex)' is not a 64-character hex SHA-256 hash")
        }
        try self.init(bytes: bytes)
    }

    /// The 32 raw bytes.
    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(32)
        append(to: &out)
        return out
    }

    /// The 32 raw bytes as four big-endian words, laid out as the bytes (a key without an array).
    package var bigEndianWords: (UInt64, UInt64, UInt64, UInt64) { (w0.bigEndian, w1.bigEndian, w2.bigEndian, w3.bigEndian) }

    /// Runs `body` on the 32 raw bytes, kept on the stack.
    package func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: bigEndianWords, body)
    }

    /// Appends the 32 raw bytes.
    func append(to out: inout [UInt8]) {
        withUnsafeBytes { out.append(contentsOf: $0) }
    }

    /// 64 lowercase hex characters.
    public var hex: String { Hex.encode(bytes) }

    /// The first 12 hex characters, as `cashet log` shows them.
    public var shortHex: String { String(hex.prefix(12)) }

    public var description: String { hex }

    public static func < (lhs: ContentHash, rhs: ContentHash) -> Bool {
        (lhs.w0, lhs.w1, lhs.w2, lhs.w3) < (rhs.w0, rhs.w1, rhs.w2, rhs.w3)
    }
}

extension ContentHash: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try ContentHash(hex: text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

/// Lowercase hexadecimal through lookup tables (`String(radix:)` is ~40× slower).
enum Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            var i = 0
            for byte in bytes {
                out[i] = digits[Int(byte >> 4)]
                out[i + 1] = digits[Int(byte & 0x0f)]
                i += 2
            }
            return i
        }
    }

    /// The value of one hex character (either case), or nil.
    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Decodes an even-length hex string, or nil if it is not one.
    static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}
