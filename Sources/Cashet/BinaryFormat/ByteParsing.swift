#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bounds-checked reads every cashet binary layout is made of, over a byte array and an
/// offset the caller keeps.
///
/// One mechanism for both readers: ``ByteReader`` (store records, archives) and
/// ``BinaryInput`` (the value decoder, which reads its one array in place: passing a stored
/// `let` array to these borrows it, so a read costs no retain of the bytes).
extension Array where Element == UInt8 {
    func truncated(at offset: Int, what: StaticString) -> CashetError {
        CashetError(.corruptData, "\(what) is truncated at byte \(offset) of \(count)")
    }

    func readByte(at offset: inout Int, what: StaticString) throws(CashetError) -> UInt8 {
        guard offset < count else { throw truncated(at: offset, what: what) }
        defer { offset += 1 }
        return self[offset]
    }

    /// LEB128 unsigned varint (one-byte values, the common case, take the first branch).
    func readVarint(at offset: inout Int, what: StaticString) throws(CashetError) -> UInt64 {
        let first = try readByte(at: &offset, what: what)
        if first < 0x80 { return UInt64(first) }
        var result = UInt64(first & 0x7f)
        var shift: UInt64 = 7
        while true {
            let byte = try readByte(at: &offset, what: what)
            guard shift < 64 else { throw CashetError(.corruptData, "\(what) has an overlong varint at byte \(offset)") }
            result |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    func readSignedVarint(at offset: inout Int, what: StaticString) throws(CashetError) -> Int64 {
        let raw = try readVarint(at: &offset, what: what)
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// A varint that must be a non-negative `Int` (a size or a count not followed by its bytes).
    func readCount(at offset: inout Int, what: StaticString) throws(CashetError) -> Int {
        let start = offset
        let raw = try readVarint(at: &offset, what: what)
        guard raw <= UInt64(Int.max) else { throw CashetError(.corruptData, "\(what) has an impossible count \(raw) at byte \(start)") }
        return Int(raw)
    }

    /// A varint that must fit a non-negative Int no larger than the bytes left after it: a
    /// length or count that is safe to reserve capacity for.
    func readLength(at offset: inout Int, what: StaticString) throws(CashetError) -> Int {
        let raw = try readVarint(at: &offset, what: what)
        guard raw <= UInt64(count - offset) else { throw truncated(at: offset, what: what) }
        return Int(raw)
    }

    /// Checks that `length` bytes follow `offset` and moves past them; returns where they start.
    func advance(_ length: Int, at offset: inout Int, what: StaticString) throws(CashetError) -> Int {
        guard length >= 0, length <= count - offset else { throw truncated(at: offset, what: what) }
        defer { offset += length }
        return offset
    }

    func readFixedLittleEndian(at offset: inout Int, what: StaticString) throws(CashetError) -> UInt64 {
        let start = try advance(8, at: &offset, what: what)
        return withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: start, as: UInt64.self)) }
    }

    func readFixedLittleEndian32(at offset: inout Int, what: StaticString) throws(CashetError) -> UInt32 {
        let start = try advance(4, at: &offset, what: what)
        return withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: start, as: UInt32.self)) }
    }

    func readFixedBigEndian(at offset: inout Int, what: StaticString) throws(CashetError) -> UInt64 {
        let start = try advance(8, at: &offset, what: what)
        return withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: start, as: UInt64.self)) }
    }

    func readSlice(_ length: Int, at offset: inout Int, what: StaticString) throws(CashetError) -> ArraySlice<UInt8> {
        let start = try advance(length, at: &offset, what: what)
        return self[start..<start + length]
    }

    /// Length-prefixed UTF-8; invalid UTF-8 is corrupt data, never repaired.
    func readString(at offset: inout Int, what: StaticString) throws(CashetError) -> String {
        let length = try readLength(at: &offset, what: what)
        let start = try advance(length, at: &offset, what: what)
        let decoded = withUnsafeBufferPointer { buffer in
            let utf8 = UnsafeBufferPointer(rebasing: buffer[start..<start + length])
            // ASCII needs no validation (keys, labels, most text), and the validating
            // initializer runs unspecialized generic code in the standard library.
            return isASCII(utf8) ? String(decoding: utf8, as: UTF8.self) : String(validating: utf8, as: UTF8.self)
        }
        guard let decoded else { throw CashetError(.corruptData, "\(what) has invalid UTF-8 at byte \(start)") }
        return decoded
    }

    private func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var high: UInt8 = 0
        for byte in bytes { high |= byte }
        return high < 0x80
    }

    /// Whether the `length` bytes at `start` are exactly `utf8` (a key comparison without a String).
    func bytesEqual(_ utf8: UnsafeBufferPointer<UInt8>, at start: Int, length: Int) -> Bool {
        guard length == utf8.count, start >= 0, length <= count - start else { return false }
        guard length > 0 else { return true }
        return withUnsafeBufferPointer { memcmp($0.baseAddress! + start, utf8.baseAddress!, length) == 0 }
    }
}

extension Collection where Element == UInt8 {
    /// The bytes read as one big-endian unsigned integer (keys that sort as numbers: function
    /// ids, time keys, hash prefixes); bytes beyond the integer's width push out the first ones.
    func bigEndianInteger<T: FixedWidthInteger & UnsignedInteger>(_ type: T.Type) -> T {
        reduce(0) { $0 << 8 | T($1) }
    }
}
