import Foundation

/// Type tags of cashet's binary value format.
///
/// Every value is self-delimiting: a tag byte, then its payload. Keyed containers are
/// written sorted by key and unordered collections (sets, dictionaries with non-string
/// keys) sorted by their encoded elements, so equal values always give equal bytes — in
/// any process, whatever the hash seed. Argument hashes and blob deduplication rely on it.
enum BinaryTag: UInt8 {
    case null = 0x00
    case `false` = 0x01
    case `true` = 0x02
    /// Zig-zag varint of any signed integer type.
    case signed = 0x03
    /// Varint of any unsigned integer type.
    case unsigned = 0x04
    /// IEEE-754 binary64, little-endian. `Float` widens exactly. Every NaN is written as the
    /// one canonical quiet NaN; -0.0 stays distinct from +0.0 (a function can tell them apart).
    case double = 0x05
    /// Varint length + UTF-8.
    case string = 0x06
    /// Varint length + raw bytes (`Data`, `[UInt8]`).
    case bytes = 0x07
    /// Varint count + values, in order.
    case array = 0x08
    /// Varint count + (key string, value) pairs sorted by the key's UTF-8 bytes.
    case keyed = 0x09
    /// Varint group width (1 for sets, 2 for key/value pairs) + varint element count + values,
    /// groups sorted by their encoded bytes.
    case unordered = 0x0A
    /// A `ResultRef` argument: the 32-byte hash of the blob it refers to.
    case resultRef = 0x0B

    static let canonicalNaN: UInt64 = 0x7FF8_0000_0000_0000
}

/// A type written directly by the binary format, without the `Encoder` machinery.
protocol BinaryPrimitive {
    func writeBinary(to writer: inout ByteWriter)
    /// Reads one value at `offset` and moves `offset` past it.
    static func readBinary(from input: BinaryInput, at offset: inout Int) throws -> Self
}

extension ByteWriter {
    mutating func appendTag(_ tag: BinaryTag) { append(tag.rawValue) }

    mutating func appendDouble(_ value: Double) {
        appendTag(.double)
        appendFixedLittleEndian(value.isNaN ? BinaryTag.canonicalNaN : value.bitPattern)
    }
}

// MARK: - Primitive conformances

extension Bool: BinaryPrimitive {
    func writeBinary(to writer: inout ByteWriter) { writer.appendTag(self ? .true : .false) }
    static func readBinary(from input: BinaryInput, at offset: inout Int) throws -> Bool {
        try input.expectTag(.true, or: .false, for: Bool.self, at: &offset) == .true
    }
}

extension String: BinaryPrimitive {
    func writeBinary(to writer: inout ByteWriter) {
        writer.appendTag(.string)
        writer.appendString(self)
    }
    static func readBinary(from input: BinaryInput, at offset: inout Int) throws -> String {
        try input.readString(at: &offset)
    }
}

extension Double: BinaryPrimitive {
    func writeBinary(to writer: inout ByteWriter) { writer.appendDouble(self) }
    static func readBinary(from input: BinaryInput, at offset: inout Int) throws -> Double {
        try input.readDouble(at: &offset)
    }
}

extension Float: BinaryPrimitive {
    func writeBinary(to writer: inout ByteWriter) { writer.appendDouble(Double(self)) }
    static func readBinary(from input: BinaryInput, at offset: inout Int) throws -> Float {
        let wide = try input.readDouble(at: &offset)
        guard let exact = Float(exactly: wide) ?? (wide.isNaN ? Float.nan : nil) else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "\(wide) is not exactly representable as Float"))
        }
        return exact
    }
}

extension Array: BinaryPrimitive where Element == UInt8 {
    func writeBinary(to writer: inout ByteWriter) {
        writer.appendTag(.bytes)
        writer.appendLengthPrefixed(self)
    }
    static func readBinary(from input: BinaryInput, at offset: inout Int) throws -> [UInt8] {
        Array(try input.readRawBytes(for: [UInt8].self, at: &offset))
    }
}

extension Data: BinaryPrimitive {
    func writeBinary(to writer: inout ByteWriter) {
        writer.appendTag(.bytes)
        writer.appendVarint(UInt64(count))
        writer.append(contentsOf: self)
    }
    static func readBinary(from input: BinaryInput, at offset: inout Int) throws -> Data {
        Data(try input.readRawBytes(for: Data.self, at: &offset))
    }
}

/// Integers of every width share one tag per signedness, so `Int32(3)` and `Int(3)` encode
/// alike (`UInt(3)` does not).
protocol IntegerBinaryPrimitive: BinaryPrimitive, FixedWidthInteger {}
extension IntegerBinaryPrimitive {
    func writeBinary(to writer: inout ByteWriter) {
        if Self.isSigned {
            writer.appendTag(.signed)
            writer.appendSignedVarint(Int64(self))
        } else {
            writer.appendTag(.unsigned)
            writer.appendVarint(UInt64(self))
        }
    }
    static func readBinary(from input: BinaryInput, at offset: inout Int) throws -> Self { try input.readInteger(Self.self, at: &offset) }
}
extension Int: IntegerBinaryPrimitive {}
extension Int8: IntegerBinaryPrimitive {}
extension Int16: IntegerBinaryPrimitive {}
extension Int32: IntegerBinaryPrimitive {}
extension Int64: IntegerBinaryPrimitive {}
extension UInt: IntegerBinaryPrimitive {}
extension UInt8: IntegerBinaryPrimitive {}
extension UInt16: IntegerBinaryPrimitive {}
extension UInt32: IntegerBinaryPrimitive {}
extension UInt64: IntegerBinaryPrimitive {}

/// Collections whose iteration order is not part of their value.
///
/// Swift's `Set` and `Dictionary` iterate in a per-process random order; the encoder sorts
/// their encoded elements instead.
protocol UnorderedEncodable {
    /// The elements grouped (one value for a set, key then value for a dictionary), or nil to
    /// encode normally.
    func unorderedGroups() -> (width: Int, groups: [[any Encodable]])?
}

extension Set: UnorderedEncodable where Element: Encodable {
    func unorderedGroups() -> (width: Int, groups: [[any Encodable]])? {
        (1, map { [$0] })
    }
}

extension Dictionary: UnorderedEncodable where Key: Encodable, Value: Encodable {
    func unorderedGroups() -> (width: Int, groups: [[any Encodable]])? {
        // String, Int and CodingKeyRepresentable keys go through a keyed container (sorted).
        if Key.self is any CodingKeyRepresentable.Type { return nil }
        return (2, map { [$0.key, $0.value] })
    }
}
