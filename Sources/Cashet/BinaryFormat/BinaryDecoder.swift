import Foundation

/// Decodes values written by ``BinaryEncoder``.
///
/// One pass over the bytes when a type asks for its keys in stored (sorted) order, which
/// synthesized `Decodable` conformances of types with sorted property names do; other orders
/// cost a scan of the container's keys. The allocations of a struct's decode are the input
/// object, the standard library's keyed-container box, and the values' own storage.
struct BinaryDecoder {
    /// Whether ``BinaryDecodable`` types decode through their fast path; off only to check that
    /// path against `init(from:)` (tests, the fuzz target).
    var usesFastPaths = true

    /// Decodes one value that must span all of `bytes`.
    func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        let input = BinaryInput(bytes, usesFastPaths: usesFastPaths)
        var knownEnd: Int?
        let value = try decodeValue(type, input: input, offset: 0, depth: 0, end: &knownEnd)
        let end = try knownEnd ?? input.endOfValue(at: 0, depth: 0)
        guard end == bytes.count else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "\(bytes.count - end) bytes left over after decoding \(T.self)"))
        }
        return value
    }
}

// The helpers below return values and pass offsets `inout`: a generic function returning a
// tuple such as `(T, Int)` looks up the tuple's metadata at run time on every call.

/// The generic types `decodeValue` reads directly. Looked up once: `[Double].self` in a generic
/// function asks the runtime's metadata cache on every call (~25 ns each, perf).
private enum KnownTypes {
    static let doubleArray = ObjectIdentifier([Double].self)
    static let intArray = ObjectIdentifier([Int].self)
    static let stringArray = ObjectIdentifier([String].self)
    static let byteArray = ObjectIdentifier([UInt8].self)
}

/// Decodes the value at `offset`. Sets `end` to the offset just past it when reading it told
/// (primitives); leaves it nil otherwise (``BinaryInput/endOfValue(at:depth:)`` finds it).
func decodeValue<T: Decodable>(_ type: T.Type, input: BinaryInput, offset: Int, depth: Int, end: inout Int?) throws -> T {
    // Common fields and element types first, by metatype comparison (cheap): `[Double]`
    // decodes every element through here.
    if T.self == Double.self { return try primitiveValue(Double.self, as: T.self, input, offset, depth, &end) }
    if T.self == Int.self { return try primitiveValue(Int.self, as: T.self, input, offset, depth, &end) }
    if T.self == String.self { return try primitiveValue(String.self, as: T.self, input, offset, depth, &end) }
    let type = ObjectIdentifier(T.self)
    if type == KnownTypes.doubleArray { return try primitiveArray(Double.self, as: T.self, input, offset, depth, &end) }
    if type == KnownTypes.intArray { return try primitiveArray(Int.self, as: T.self, input, offset, depth, &end) }
    if type == KnownTypes.stringArray { return try primitiveArray(String.self, as: T.self, input, offset, depth, &end) }
    // Bytes have a tag of their own, which their `init(from:)` (an unkeyed container of
    // `UInt8`s) would not read. Every other primitive's `init(from:)` asks a single-value
    // container for itself, which reads it directly: cheaper than a conformance check here.
    if type == KnownTypes.byteArray { return try primitiveValue([UInt8].self, as: T.self, input, offset, depth, &end) }
    if T.self == Data.self { return try primitiveValue(Data.self, as: T.self, input, offset, depth, &end) }
    return try decodeStructured(T.self, input: input, offset: offset, depth: depth, end: &end)
}

/// A value with fields: through its ``BinaryDecodable`` fast path when it has one and the bytes
/// are what that expects, else through `init(from:)`. Kept out of `decodeValue` so the
/// primitives' path does not pay for this one's generic locals.
@inline(never)
private func decodeStructured<T: Decodable>(_ type: T.Type, input: BinaryInput, offset: Int, depth: Int, end: inout Int?) throws -> T {
    if input.usesFastPaths, let fast = T.self as? any BinaryDecodable.Type {
        do { return try decodeThroughFields(fast, as: T.self, input: input, offset: offset, depth: depth, end: &end) } catch {}
    }
    return try T(from: NodeDecoder(input: input, offset: offset, depth: depth))
}

@inline(__always)
private func primitiveValue<P: BinaryPrimitive, T>(_ primitive: P.Type, as type: T.Type, _ input: BinaryInput, _ offset: Int, _ depth: Int, _ end: inout Int?) throws -> T {
    var position = offset
    let value = try readPrimitive(primitive, input: input, at: &position, codingPath: input.codingPath(depth: depth))
    end = position
    return value as! T  // callers checked that P is T
}

/// Arrays of primitives decode straight into a pre-sized array (same bytes as the generic path).
@inline(__always)
private func primitiveArray<E: BinaryPrimitive, T>(_ element: E.Type, as type: T.Type, _ input: BinaryInput, _ offset: Int, _ depth: Int, _ end: inout Int?) throws -> T {
    var position = offset
    do {
        try input.expectTag(.array, for: [E].self, at: &position)
        let count = try input.readLength(at: &position)  // bounded by the bytes left, so reserving is safe
        var result: [E] = []
        result.reserveCapacity(count)
        for _ in 0..<count { result.append(try E.readBinary(from: input, at: &position)) }
        end = position
        return result as! T  // callers checked that [E] is T
    } catch {
        throw error.located(at: input.codingPath(depth: depth))
    }
}

/// Reads a primitive with static dispatch: the containers' concrete-type overloads come here
/// directly, so the common fields of a struct cost no dynamic cast.
@inline(__always)
private func readPrimitive<P: BinaryPrimitive>(_ type: P.Type, input: BinaryInput, at offset: inout Int, codingPath: @autoclosure () -> [any CodingKey]) throws -> P {
    do { return try P.readBinary(from: input, at: &offset) } catch { throw error.located(at: codingPath()) }
}

extension Error {
    /// This failure as a `DecodingError` at `codingPath` (built only on failure): truncation
    /// surfaces from the byte reads as a `CashetError`.
    fileprivate func located(at codingPath: [any CodingKey]) -> DecodingError {
        if let error = self as? DecodingError { return error.at(codingPath) }
        return DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "\(self)", underlyingError: self))
    }
}

extension DecodingError {
    /// The same error with the coding path where it happened.
    func at(_ path: [any CodingKey]) -> DecodingError {
        switch self {
        case .typeMismatch(let type, let context) where context.codingPath.isEmpty:
            .typeMismatch(type, .init(codingPath: path, debugDescription: context.debugDescription, underlyingError: context.underlyingError))
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            .dataCorrupted(.init(codingPath: path, debugDescription: context.debugDescription, underlyingError: context.underlyingError))
        default: self
        }
    }
}

/// Three words, so it fits an existential's inline buffer: `T(from:)` gets it without a box.
private struct NodeDecoder: Decoder {
    let input: BinaryInput
    let offset: Int
    let depth: Int
    var codingPath: [any CodingKey] { input.codingPath(depth: depth) }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(try KeyedNodeDecodingContainer<Key>(input: input, offset: offset, depth: depth))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try UnkeyedNodeDecodingContainer(input: input, offset: offset, depth: depth)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleNodeDecodingContainer(input: input, offset: offset, depth: depth)
    }
}

/// Kept thin on purpose: code in a container generic over its `CodingKey` runs unspecialized,
/// so each method turns the key into its name and calls ``BinaryInput``'s non-generic lookup.
private struct KeyedNodeDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let input: BinaryInput
    let container: KeyedContainerSpan
    let depth: Int
    var codingPath: [any CodingKey] { input.codingPath(depth: depth) }

    init(input: BinaryInput, offset: Int, depth: Int) throws {
        self.input = input
        self.depth = depth
        do {
            container = try input.keyedContainer(at: offset)
        } catch let error as DecodingError {
            throw error.at(input.codingPath(depth: depth))
        }
    }

    var allKeys: [Key] { input.keyNames(of: container).compactMap(Key.init(stringValue:)) }

    func contains(_ key: Key) -> Bool { (try? input.valueOffset(of: key.stringValue, in: container, depth: depth)) != nil }

    private func offset(of key: Key) throws -> Int {
        let found: Int?
        do { found = try input.valueOffset(of: key.stringValue, in: container, depth: depth) } catch { throw error.located(at: codingPath) }
        guard let offset = found else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no value for key '\(key.stringValue)'"))
        }
        return offset
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        let offset = try offset(of: key)
        do { return try input.isNull(at: offset) } catch { throw error.located(at: input.codingPath(depth: depth, appending: key)) }
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let offset = try offset(of: key)
        input.enter(key, depth: depth)
        var end: Int?
        let value = try decodeValue(type, input: input, offset: offset, depth: depth + 1, end: &end)
        if let end { input.noteValueEnd(end, ofValueAt: offset, depth: depth) }
        return value
    }

    @inline(__always)
    private func primitive<P: BinaryPrimitive>(_ type: P.Type, forKey key: Key) throws -> P {
        let offset = try offset(of: key)
        var end = offset
        let value = try readPrimitive(type, input: input, at: &end, codingPath: input.codingPath(depth: depth, appending: key))
        input.noteValueEnd(end, ofValueAt: offset, depth: depth)
        return value
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try primitive(type, forKey: key) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try primitive(type, forKey: key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try primitive(type, forKey: key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try primitive(type, forKey: key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try primitive(type, forKey: key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try primitive(type, forKey: key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try primitive(type, forKey: key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try primitive(type, forKey: key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try primitive(type, forKey: key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try primitive(type, forKey: key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try primitive(type, forKey: key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try primitive(type, forKey: key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try primitive(type, forKey: key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try primitive(type, forKey: key) }

    private func nested(forKey key: Key) throws -> NodeDecoder {
        let offset = try offset(of: key)
        input.enter(key, depth: depth)
        return NodeDecoder(input: input, offset: offset, depth: depth + 1)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try nested(forKey: key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try nested(forKey: key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        guard let superOffset = try input.valueOffset(of: "super", in: container, depth: depth) else {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "no super value"))
        }
        input.enter(PathKey(stringValue: "super"), depth: depth)
        return NodeDecoder(input: input, offset: superOffset, depth: depth + 1)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder { try nested(forKey: key) }
}

private struct UnkeyedNodeDecodingContainer: UnkeyedDecodingContainer {
    let input: BinaryInput
    let depth: Int
    var codingPath: [any CodingKey] { input.codingPath(depth: depth) }
    let count: Int?
    private(set) var currentIndex = 0
    private var offset: Int

    init(input: BinaryInput, offset: Int, depth: Int) throws {
        self.input = input
        self.depth = depth
        var position = offset
        do {
            if try input.expectTag(.array, or: .unordered, for: [Any].self, at: &position) == .unordered { _ = try input.readVarint(at: &position) }
            count = try input.readLength(at: &position)
        } catch let error as DecodingError {
            throw error.at(input.codingPath(depth: depth))
        }
        self.offset = position
    }

    var isAtEnd: Bool { currentIndex >= (count ?? 0) }

    private func checkNotAtEnd<T>(_ type: T.Type) throws {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath, debugDescription: "unkeyed container is at its end (\(count ?? 0) elements)"))
        }
    }

    mutating func decodeNil() throws -> Bool {
        try checkNotAtEnd(Never.self)
        let isNull: Bool
        do { isNull = try input.isNull(at: offset) } catch { throw error.located(at: codingPath) }
        guard isNull else { return false }
        offset += 1
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try checkNotAtEnd(type)
        input.enter(PathKey(intValue: currentIndex), depth: depth)
        var knownEnd: Int?
        let value = try decodeValue(type, input: input, offset: offset, depth: depth + 1, end: &knownEnd)
        do { offset = try knownEnd ?? input.endOfValue(at: offset, depth: depth + 1) } catch { throw error.located(at: codingPath) }
        currentIndex += 1
        return value
    }

    @inline(__always)
    private mutating func nextPrimitive<P: BinaryPrimitive>(_ type: P.Type) throws -> P {
        try checkNotAtEnd(type)
        let value = try readPrimitive(type, input: input, at: &offset, codingPath: input.codingPath(depth: depth, appending: PathKey(intValue: currentIndex)))
        currentIndex += 1
        return value
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try nextPrimitive(type) }
    mutating func decode(_ type: String.Type) throws -> String { try nextPrimitive(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try nextPrimitive(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try nextPrimitive(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try nextPrimitive(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try nextPrimitive(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try nextPrimitive(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try nextPrimitive(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try nextPrimitive(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try nextPrimitive(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try nextPrimitive(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try nextPrimitive(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try nextPrimitive(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try nextPrimitive(type) }

    /// The decoder of the current element, which it then moves past.
    private mutating func nextNode() throws -> NodeDecoder {
        try checkNotAtEnd(Any.self)
        let start = offset
        do { try input.skipValue(at: &offset) } catch { throw error.located(at: codingPath) }
        input.enter(PathKey(intValue: currentIndex), depth: depth)
        currentIndex += 1
        return NodeDecoder(input: input, offset: start, depth: depth + 1)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try nextNode().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try nextNode().unkeyedContainer() }

    mutating func superDecoder() throws -> any Decoder { try nextNode() }
}

private struct SingleNodeDecodingContainer: SingleValueDecodingContainer {
    let input: BinaryInput
    let offset: Int
    let depth: Int
    var codingPath: [any CodingKey] { input.codingPath(depth: depth) }

    /// Non-throwing by protocol: a value cut off here is not null, and reading it reports the truncation.
    func decodeNil() -> Bool { (try? input.isNull(at: offset)) ?? false }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        var end: Int?
        return try decodeValue(type, input: input, offset: offset, depth: depth, end: &end)
    }

    @inline(__always)
    private func primitive<P: BinaryPrimitive>(_ type: P.Type) throws -> P {
        var position = offset
        return try readPrimitive(type, input: input, at: &position, codingPath: codingPath)
    }

    func decode(_ type: Bool.Type) throws -> Bool { try primitive(type) }
    func decode(_ type: String.Type) throws -> String { try primitive(type) }
    func decode(_ type: Double.Type) throws -> Double { try primitive(type) }
    func decode(_ type: Float.Type) throws -> Float { try primitive(type) }
    func decode(_ type: Int.Type) throws -> Int { try primitive(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try primitive(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try primitive(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try primitive(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try primitive(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try primitive(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try primitive(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try primitive(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try primitive(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try primitive(type) }
}
