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
        guard let offset = try nextValue(under: key) else { throw FastPathMismatch() }
        return try value(T.self, at: offset, key: key)
    }

    /// The value of the next entry if it is stored under `key`, as `decodeIfPresent` reads an
    /// optional field: nil (reading nothing) when the next entry has another key, nil for a
    /// stored null.
    public mutating func nextIfPresent<T: Decodable>(_ key: StaticString) throws -> T? {
        guard let offset = try nextValue(under: key) else { return nil }
        if try input.isNull(at: offset) {
            position = offset + 1
            return nil
        }
        return try value(T.self, at: offset, key: key)
    }

    /// Where the next entry's value starts, moving past its key; nil (reading nothing) when
    /// there is no next entry or its key is not `key`.
    private mutating func nextValue(under key: StaticString) throws -> Int? {
        guard remaining > 0 else { return nil }
        var offset = position
        let keyLength = try input.readLength(at: &offset)
        let keyStart = try input.advance(keyLength, at: &offset)
        guard key.withUTF8Buffer({ input.bytes.bytesEqual($0, at: keyStart, length: keyLength) }) else { return nil }
        remaining -= 1
        return offset
    }

    /// Decodes the value at `offset` and moves past it.
    private mutating func value<T: Decodable>(_ type: T.Type, at offset: Int, key: StaticString) throws -> T {
        input.enter(StaticKey(key), depth: depth)
        var end: Int?
        let value = try decodeValue(type, input: input, offset: offset, depth: depth + 1, end: &end)
        position = try end ?? input.endOfValue(at: offset, depth: depth + 1)
        return value
    }
}

/// Thrown by ``BinaryFields`` when the bytes are not what the fast path expects; never seen by
/// callers of the decoder, which then decode through `Decoder`.
struct FastPathMismatch: Error {}

/// A field name known at compile time, as a coding key (small enough for an existential's
/// inline buffer, so recording it allocates nothing).
private struct StaticKey: CodingKey {
    let name: StaticString
    init(_ name: StaticString) { self.name = name }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { nil }
    var stringValue: String { name.description }
    var intValue: Int? { nil }
}

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
