/// A struct that reads its fields straight from cashet's binary format, without the
/// `Decoder` machinery: a warm hit's decode of a small struct then costs about what building the
/// value by hand does (see README "Performance").
///
/// Declare it with `@BinaryDecodable` from `CashetMacros`, which writes
/// ``init(binaryFields:)`` to match the type's synthesized `Decodable` conformance, rather than
/// by hand. The conformance is only a fast path: whenever the stored bytes are not exactly what
/// the synthesized `Encodable` conformance writes for this type (another field order, an extra
/// or missing key, a value of another shape), the initializer throws and the value is decoded
/// through `init(from:)` instead, with the same result and the same errors as without it.
public protocol BinaryDecodable: Decodable {
    /// Reads every field of the value, in the order of their keys' UTF-8 bytes, from `fields`.
    init(binaryFields fields: inout BinaryFields) throws
}

/// The entries of one keyed value of cashet's binary format, read front to back by
/// ``BinaryDecodable/init(binaryFields:)``.
public struct BinaryFields {
    let input: BinaryInput
    /// The depth of the keyed value, for the coding paths of values decoded through `Decoder`.
    let depth: Int
    /// Where the next entry starts.
    var position: Int
    /// Entries not read yet.
    var remaining: Int

    /// Opens the keyed value at `offset`.
    init(input: BinaryInput, offset: Int, depth: Int) throws {
        let container = try input.keyedContainer(at: offset)
        (self.input, self.depth, position, remaining) = (input, depth, container.entries, container.count)
    }

    /// The value of the next entry, which must be stored under `key`.
    ///
    /// Throws when the next entry has another key or its value is not a `T`: the caller then
    /// decodes the whole value through `init(from:)`.
    public mutating func next<T: Decodable>(_ key: StaticString) throws -> T {
        guard let entry = try nextEntry(under: key) else { throw FastPathMismatch() }
        return try value(T.self, of: entry)
    }

    /// The value of the next entry if it is stored under `key`, as `decodeIfPresent` reads an
    /// optional field: nil (reading nothing) when the next entry has another key, nil for a
    /// stored null.
    public mutating func nextIfPresent<T: Decodable>(_ key: StaticString) throws -> T? {
        guard let entry = try nextEntry(under: key), try !isNull(entry) else { return nil }
        return try value(T.self, of: entry)
    }

    /// Where the next entry's key and value are, moving past its key; nil (reading nothing) when
    /// there is no next entry or its key is not `key`.
    private mutating func nextEntry(under key: StaticString) throws -> Entry? {
        guard remaining > 0 else { return nil }
        var offset = position
        let keyLength = try input.readLength(at: &offset)
        let keyStart = try input.advance(keyLength, at: &offset)
        guard key.withUTF8Buffer({ input.bytes.bytesEqual($0, at: keyStart, length: keyLength) }) else { return nil }
        remaining -= 1
        return Entry(keyStart: keyStart, keyLength: keyLength, value: offset)
    }

    /// Moves past a stored null.
    private mutating func isNull(_ entry: Entry) throws -> Bool {
        guard try input.isNull(at: entry.value) else { return false }
        position = entry.value + 1
        return true
    }

    /// Decodes the entry's value and moves past it.
    private mutating func value<T: Decodable>(_ type: T.Type, of entry: Entry) throws -> T {
        input.enter(storedKeyAt: entry.keyStart, length: entry.keyLength, depth: depth)
        var end: Int?
        let value = try decodeValue(type, input: input, offset: entry.value, depth: depth + 1, end: &end)
        position = try end ?? input.endOfValue(at: entry.value, depth: depth + 1)
        return value
    }

    /// A primitive, read directly: no dispatch on its type, no coding path to record.
    @inline(__always)
    private mutating func primitive<P: BinaryPrimitive>(_ key: StaticString, optional: Bool) throws -> P? {
        guard let entry = try nextEntry(under: key) else {
            if optional { return nil }
            throw FastPathMismatch()
        }
        if optional, try isNull(entry) { return nil }
        position = entry.value
        return try P.readBinary(from: input, at: &position)
    }

    struct Entry {
        let keyStart: Int
        let keyLength: Int
        let value: Int
    }
}

// The types the binary format writes directly, read without generic dispatch: the macro's
// `self.id = try fields.next("id")` picks these over the generic form when the field is one.
extension BinaryFields {
    /// ``next(_:)`` for a `Bool` field.
    public mutating func next(_ key: StaticString) throws -> Bool { try primitive(key, optional: false)! }
    /// ``next(_:)`` for a `String` field.
    public mutating func next(_ key: StaticString) throws -> String { try primitive(key, optional: false)! }
    /// ``next(_:)`` for a `Double` field.
    public mutating func next(_ key: StaticString) throws -> Double { try primitive(key, optional: false)! }
    /// ``next(_:)`` for a `Float` field.
    public mutating func next(_ key: StaticString) throws -> Float { try primitive(key, optional: false)! }
    /// ``next(_:)`` for an `Int` field.
    public mutating func next(_ key: StaticString) throws -> Int { try primitive(key, optional: false)! }
    /// ``next(_:)`` for an `Int8` field.
    public mutating func next(_ key: StaticString) throws -> Int8 { try primitive(key, optional: false)! }
    /// ``next(_:)`` for an `Int16` field.
    public mutating func next(_ key: StaticString) throws -> Int16 { try primitive(key, optional: false)! }
    /// ``next(_:)`` for an `Int32` field.
    public mutating func next(_ key: StaticString) throws -> Int32 { try primitive(key, optional: false)! }
    /// ``next(_:)`` for an `Int64` field.
    public mutating func next(_ key: StaticString) throws -> Int64 { try primitive(key, optional: false)! }
    /// ``next(_:)`` for a `UInt` field.
    public mutating func next(_ key: StaticString) throws -> UInt { try primitive(key, optional: false)! }
    /// ``next(_:)`` for a `UInt8` field.
    public mutating func next(_ key: StaticString) throws -> UInt8 { try primitive(key, optional: false)! }
    /// ``next(_:)`` for a `UInt16` field.
    public mutating func next(_ key: StaticString) throws -> UInt16 { try primitive(key, optional: false)! }
    /// ``next(_:)`` for a `UInt32` field.
    public mutating func next(_ key: StaticString) throws -> UInt32 { try primitive(key, optional: false)! }
    /// ``next(_:)`` for a `UInt64` field.
    public mutating func next(_ key: StaticString) throws -> UInt64 { try primitive(key, optional: false)! }
    /// ``nextIfPresent(_:)`` for a `Bool?` field.
    public mutating func nextIfPresent(_ key: StaticString) throws -> Bool? { try primitive(key, optional: true) }
    /// ``nextIfPresent(_:)`` for a `String?` field.
    public mutating func nextIfPresent(_ key: StaticString) throws -> String? { try primitive(key, optional: true) }
    /// ``nextIfPresent(_:)`` for a `Double?` field.
    public mutating func nextIfPresent(_ key: StaticString) throws -> Double? { try primitive(key, optional: true) }
    /// ``nextIfPresent(_:)`` for a `Float?` field.
    public mutating func nextIfPresent(_ key: StaticString) throws -> Float? { try primitive(key, optional: true) }
    /// ``nextIfPresent(_:)`` for an `Int?` field.
    public mutating func nextIfPresent(_ key: StaticString) throws -> Int? { try primitive(key, optional: true) }
    /// ``nextIfPresent(_:)`` for an `Int8?` field.
    public mutating func nextIfPresent(_ key: StaticString) throws -> Int8? { try primitive(key, optional: true) }
    /// ``nextIfPresent(_:)`` for an `Int16?` field.
    public mutating func nextIfPresent(_ key: StaticString) throws -> Int16? { try primitive(key, optional: true) }
    /// ``nextIfPresent(_:)`` for an `Int32?` field.
    public mutating func nextIfPresent(_ key: StaticString) throws -> Int32? { try primitive(key, optional: true) }
    /// ``nextIfPresent(_:)`` for an `Int64?` field.
    public mutating func nextIfPresent(_ key: StaticString) throws -> Int64? { try primitive(key, optional: true) }
    /// ``nextIfPresent(_:)`` for a `UInt?` field.
    public mutating func nextIfPresent(_ key: StaticString) throws -> UInt? { try primitive(key, optional: true) }
    /// ``nextIfPresent(_:)`` for a `UInt8?` field.
    public mutating func nextIfPresent(_ key: StaticString) throws -> UInt8? { try primitive(key, optional: true) }
    /// ``nextIfPresent(_:)`` for a `UInt16?` field.
    public mutating func nextIfPresent(_ key: StaticString) throws -> UInt16? { try primitive(key, optional: true) }
    /// ``nextIfPresent(_:)`` for a `UInt32?` field.
    public mutating func nextIfPresent(_ key: StaticString) throws -> UInt32? { try primitive(key, optional: true) }
    /// ``nextIfPresent(_:)`` for a `UInt64?` field.
    public mutating func nextIfPresent(_ key: StaticString) throws -> UInt64? { try primitive(key, optional: true) }
}

/// Thrown by ``BinaryFields`` when the bytes are not what the fast path expects; never seen by
/// callers of the decoder, which then decode through `Decoder`.
struct FastPathMismatch: Error {}

/// Decodes the keyed value at `offset` through the fast path of `type` (which is `T`, opened
/// from a conformance check). Throws when the bytes are not what it expects; the caller then
/// uses `init(from:)`. Throws rather than returning an optional: `T?` in a generic function
/// costs a metadata lookup per call.
func decodeThroughFields<D: BinaryDecodable, T>(_ type: D.Type, as result: T.Type, input: BinaryInput, offset: Int, depth: Int, end: inout Int?) throws -> T {
    var fields = try BinaryFields(input: input, offset: offset, depth: depth)
    let value = try D(binaryFields: &fields)
    guard fields.remaining == 0 else { throw FastPathMismatch() }
    end = fields.position
    return value as! T  // D is T: the caller opened it from `T.self`
}
