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

    private func truncated() -> CashetError {
        CashetError(.corruptData, "\(what) is truncated at byte \(offset) of \(bytes.count)")
    }

    mutating func readByte() throws(CashetError) -> UInt8 {
        guard offset < bytes.count else { throw truncated() }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readVarint() throws(CashetError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readByte()
            guard shift < 64 else { throw CashetError(.corruptData, "\(what) has an overlong varint at byte \(offset)") }
            result |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    mutating func readSignedVarint() throws(CashetError) -> Int64 {
        let raw = try readVarint()
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// A varint that must be a non-negative `Int` (a size or a count that is not followed by its bytes).
    mutating func readCount() throws(CashetError) -> Int {
        let start = offset
        let raw = try readVarint()
        guard raw <= UInt64(Int.max) else { throw CashetError(.corruptData, "\(what) has an impossible count \(raw) at byte \(start)") }
        return Int(raw)
    }

    /// A varint that must fit a non-negative Int no larger than the remaining bytes allow.
    mutating func readLength() throws(CashetError) -> Int {
        let raw = try readVarint()
        guard raw <= UInt64(bytes.count - offset) else { throw truncated() }
        return Int(raw)
    }

    mutating func readFixedLittleEndian() throws(CashetError) -> UInt64 {
        let raw = try readBytes(8)
        return raw.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func readFixedBigEndian() throws(CashetError) -> UInt64 {
        try readBytes(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func readBytes(_ count: Int) throws(CashetError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - offset else { throw truncated() }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    mutating func readString() throws(CashetError) -> String {
        let count = try readLength()
        let raw = try readBytes(count)
        // ASCII is valid UTF-8 and needs no validation pass (keys, labels, most text).
        let decoded = raw.allSatisfy { $0 < 0x80 } ? String(decoding: raw, as: UTF8.self) : String(validating: raw, as: UTF8.self)
        guard let string = decoded else {
            throw CashetError(.corruptData, "\(what) has invalid UTF-8 at byte \(offset - count)")
        }
        return string
    }

    mutating func readLengthPrefixed() throws(CashetError) -> [UInt8] {
        Array(try readBytes(try readLength()))
    }

    mutating func skip(_ count: Int) throws(CashetError) { _ = try readBytes(count) }
}
