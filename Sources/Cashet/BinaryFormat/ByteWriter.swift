/// Appends the primitive pieces of cashet's binary formats to a byte array.
struct ByteWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    mutating func append(_ byte: UInt8) { bytes.append(byte) }

    mutating func append(contentsOf other: some Sequence<UInt8>) { bytes.append(contentsOf: other) }

    /// LEB128 unsigned varint.
    mutating func appendVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// Zig-zag signed varint (small magnitudes stay short).
    mutating func appendSignedVarint(_ value: Int64) {
        appendVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    mutating func appendFixedLittleEndian(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func appendFixedLittleEndian32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Big-endian so that byte order equals numeric order in LMDB keys.
    mutating func appendFixedBigEndian(_ value: UInt64) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    /// Length-prefixed UTF-8.
    mutating func appendString(_ string: String) {
        var s = string
        s.withUTF8 { utf8 in
            appendVarint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// A presence byte (0 or 1), then the hash when present.
    mutating func appendOptionalHash(_ hash: ContentHash?) {
        if let hash {
            append(1)
            append(contentsOf: hash.bytes)
        } else {
            append(0)
        }
    }

    /// Length-prefixed raw bytes.
    mutating func appendLengthPrefixed(_ raw: [UInt8]) {
        appendVarint(UInt64(raw.count))
        bytes.append(contentsOf: raw)
    }
}

/// Reads what `ByteWriter` wrote; every read is bounds-checked and throws on truncation.
struct ByteReader {
    let bytes: [UInt8]
    private(set) var offset: Int
    /// Names what is being read, for error messages ("commit record", "blob metadata").
    /// Static on purpose: building a label on every read would cost more than the read.
    let what: StaticString

    init(_ bytes: [UInt8], offset: Int = 0, what: StaticString) {
        self.bytes = bytes
        self.offset = offset
        self.what = what
    }

    var isAtEnd: Bool { offset >= bytes.count }

    mutating func readByte() throws(CashetError) -> UInt8 { try bytes.readByte(at: &offset, what: what) }

    mutating func readVarint() throws(CashetError) -> UInt64 { try bytes.readVarint(at: &offset, what: what) }

    mutating func readSignedVarint() throws(CashetError) -> Int64 { try bytes.readSignedVarint(at: &offset, what: what) }

    /// A varint that must be a non-negative `Int` (a size or a count that is not followed by its bytes).
    mutating func readCount() throws(CashetError) -> Int { try bytes.readCount(at: &offset, what: what) }

    /// A varint that must fit a non-negative Int no larger than the remaining bytes allow.
    mutating func readLength() throws(CashetError) -> Int { try bytes.readLength(at: &offset, what: what) }

    mutating func readFixedLittleEndian() throws(CashetError) -> UInt64 { try bytes.readFixedLittleEndian(at: &offset, what: what) }

    mutating func readFixedLittleEndian32() throws(CashetError) -> UInt32 { try bytes.readFixedLittleEndian32(at: &offset, what: what) }

    mutating func readFixedBigEndian() throws(CashetError) -> UInt64 { try bytes.readFixedBigEndian(at: &offset, what: what) }

    mutating func readBytes(_ count: Int) throws(CashetError) -> ArraySlice<UInt8> { try bytes.readSlice(count, at: &offset, what: what) }

    mutating func readString() throws(CashetError) -> String { try bytes.readString(at: &offset, what: what) }

    mutating func readLengthPrefixed() throws(CashetError) -> [UInt8] { Array(try readBytes(try readLength())) }

    mutating func skip(_ count: Int) throws(CashetError) { _ = try bytes.advance(count, at: &offset, what: what) }

    /// What ``ByteWriter/appendOptionalHash(_:)`` wrote.
    mutating func readOptionalHash() throws(CashetError) -> ContentHash? {
        try readByte() == 1 ? try ContentHash(bytes: try readBytes(ContentHash.byteCount)) : nil
    }

    /// A commit's status byte (1 completed, 2 failed).
    mutating func readStatus(of commit: ContentHash) throws(CashetError) -> CommitStatus {
        switch try readByte() {
        case 1: return .completed
        case 2: return .failed
        case let other: throw CashetError(.corruptData, "commit \(commit.shortHex) has unknown status \(other)")
        }
    }
}
