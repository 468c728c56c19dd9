/// Decodes values written by ``BinaryEncoder``.
struct BinaryDecoder {
    /// Decodes one value that must span all of `bytes`.
    func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        let (value, end) = try decodeValue(type, bytes: bytes, offset: 0, path: CodingPath())
        guard end == bytes.count else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "\(bytes.count - end) bytes left over after decoding \(T.self)"))
        }
        return value
    }
}

/// Decodes the value starting at `offset`; returns it with the offset just past it (computed
/// only when `needsEnd`: keyed containers locate values by offset and never need it).
private func decodeValue<T: Decodable>(_ type: T.Type, bytes: [UInt8], offset: Int, path: CodingPath, needsEnd: Bool = true) throws -> (T, Int) {
    // Element types of common collections first: a metatype comparison is far cheaper than
    // the conformance lookup below, and `[Double]` decodes every element through here.
    if T.self == Double.self { return try primitiveValue(Double.self, as: T.self, bytes, offset, path) }
    if T.self == Int.self { return try primitiveValue(Int.self, as: T.self, bytes, offset, path) }
    if T.self == String.self { return try primitiveValue(String.self, as: T.self, bytes, offset, path) }
    if T.self == [Double].self { return try primitiveArray(Double.self, as: T.self, bytes, offset, path) }
    if T.self == [Int].self { return try primitiveArray(Int.self, as: T.self, bytes, offset, path) }
    if T.self == [String].self { return try primitiveArray(String.self, as: T.self, bytes, offset, path) }
    if let primitive = T.self as? any BinaryPrimitive.Type {
        return try primitiveValue(primitive, as: T.self, bytes, offset, path)
    }
    let value = try T(from: NodeDecoder(bytes: bytes, offset: offset, path: path))
    guard needsEnd else { return (value, offset) }
    var reader = ByteReader(bytes, offset: offset, what: "encoded value")
    try reader.skipValue()
    return (value, reader.offset)
}

private func primitiveValue<P: BinaryPrimitive, T>(_ primitive: P.Type, as type: T.Type, _ bytes: [UInt8], _ offset: Int, _ path: CodingPath) throws -> (T, Int) {
    let (value, end) = try readPrimitive(primitive, bytes: bytes, offset: offset, codingPath: path.keys)
    return (value as! T, end)  // callers checked that P is T
}

/// Arrays of primitives decode straight into a pre-sized array (same bytes as the generic path).
private func primitiveArray<E: BinaryPrimitive, T>(_ element: E.Type, as type: T.Type, _ bytes: [UInt8], _ offset: Int, _ path: CodingPath) throws -> (T, Int) {
    try withCodingPath(path.keys) {
        var reader = ByteReader(bytes, offset: offset, what: "encoded array")
        _ = try reader.expectTag(.array, for: [E].self)
        let count = try reader.readLength()  // bounded by the bytes left, so reserving is safe
        var result: [E] = []
        result.reserveCapacity(count)
        for _ in 0..<count { result.append(try E.readBinary(from: &reader)) }
        return (result as! T, reader.offset)  // callers checked that [E] is T
    }
}

/// Reads a primitive with static dispatch: the containers' concrete-type overloads come here
/// directly, so the common fields of a struct cost no dynamic cast.
private func readPrimitive<P: BinaryPrimitive>(_ type: P.Type, bytes: [UInt8], offset: Int, codingPath: @autoclosure () -> [any CodingKey]) throws -> (value: P, end: Int) {
    try withCodingPath(codingPath()) {
        var reader = ByteReader(bytes, offset: offset, what: "encoded value")
        let value = try P.readBinary(from: &reader)
        return (value, reader.offset)
    }
}

/// Runs a primitive read and reports any failure as a `DecodingError` at `codingPath` (built
/// only on failure): truncation surfaces from `ByteReader` as a `CashetError`.
private func withCodingPath<R>(_ codingPath: @autoclosure () -> [any CodingKey], _ body: () throws -> R) throws -> R {
    do {
        return try body()
    } catch let error as DecodingError {
        throw error.at(codingPath())
    } catch {
        throw DecodingError.dataCorrupted(.init(codingPath: codingPath(), debugDescription: "\(error)", underlyingError: error))
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

/// A coding path that is only materialized when asked for (errors, or a type reading
/// `codingPath`): building `path + [key]` for every field would allocate per field.
private struct CodingPath {
    var parent: [any CodingKey] = []
    var last: (any CodingKey)?

    var keys: [any CodingKey] { last.map { parent + [$0] } ?? parent }

    func appending(_ key: any CodingKey) -> CodingPath { CodingPath(parent: keys, last: key) }
}

private struct NodeDecoder: Decoder {
    let bytes: [UInt8]
    let offset: Int
    let path: CodingPath
    var codingPath: [any CodingKey] { path.keys }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(try KeyedNodeDecodingContainer<Key>(bytes: bytes, offset: offset, path: path))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try UnkeyedNodeDecodingContainer(bytes: bytes, offset: offset, path: path)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleNodeDecodingContainer(bytes: bytes, offset: offset, path: path)
    }
}

private struct KeyedNodeDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let bytes: [UInt8]
    let path: CodingPath
    var codingPath: [any CodingKey] { path.keys }
    private let table: KeyTable

    init(bytes: [UInt8], offset: Int, path: CodingPath) throws {
        self.bytes = bytes
        self.path = path
        do {
            table = try KeyTable(bytes: bytes, offset: offset)
        } catch let error as DecodingError {
            throw error.at(path.keys)
        }
    }

    var allKeys: [Key] { table.allNames.compactMap(Key.init(stringValue:)) }

    func contains(_ key: Key) -> Bool { table.valueOffset(named: key.stringValue) != nil }

    private func offset(of key: Key) throws -> Int {
        guard let offset = table.valueOffset(named: key.stringValue) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no value for key '\(key.stringValue)'"))
        }
        return offset
    }

    func decodeNil(forKey key: Key) throws -> Bool { bytes[try offset(of: key)] == BinaryTag.null.rawValue }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try value(type, forKey: key) }

    private func value<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try decodeValue(type, bytes: bytes, offset: try offset(of: key), path: path.appending(key), needsEnd: false).0
    }

    private func primitive<P: BinaryPrimitive>(_ type: P.Type, forKey key: Key) throws -> P {
        try readPrimitive(type, bytes: bytes, offset: try offset(of: key), codingPath: path.appending(key).keys).value
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

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        KeyedDecodingContainer(try KeyedNodeDecodingContainer<NestedKey>(bytes: bytes, offset: try offset(of: key), path: path.appending(key)))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try UnkeyedNodeDecodingContainer(bytes: bytes, offset: try offset(of: key), path: path.appending(key))
    }

    func superDecoder() throws -> any Decoder {
        guard let superOffset = table.valueOffset(named: "super") else {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "no super value"))
        }
        return NodeDecoder(bytes: bytes, offset: superOffset, path: path)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        NodeDecoder(bytes: bytes, offset: try offset(of: key), path: path.appending(key))
    }
}

/// The keys of one keyed container: where each key's UTF-8 bytes and value start.
///
/// Deliberately not generic over the `CodingKey` type: code inside a generic container runs
/// unspecialized and pays a runtime metadata lookup per call, which made key lookup a third
/// of decoding. Few keys per struct, so a linear scan of raw bytes beats hashing Strings.
private struct KeyTable {
    private struct Entry {
        let keyStart: Int
        let keyLength: Int
        let valueOffset: Int
    }

    private let bytes: [UInt8]
    private let entries: [Entry]

    init(bytes: [UInt8], offset: Int) throws {
        self.bytes = bytes
        var reader = ByteReader(bytes, offset: offset, what: "encoded container")
        _ = try reader.expectTag(.keyed, for: [String: Any].self)
        let count = try reader.readLength()
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let keyLength = try reader.readLength()
            let keyStart = reader.offset
            try reader.skip(keyLength)
            entries.append(Entry(keyStart: keyStart, keyLength: keyLength, valueOffset: reader.offset))
            try reader.skipValue()
        }
        self.entries = entries
    }

    func valueOffset(named name: String) -> Int? {
        let wanted = name.utf8
        for entry in entries where entry.keyLength == wanted.count {
            if bytes[entry.keyStart..<entry.keyStart + entry.keyLength].elementsEqual(wanted) { return entry.valueOffset }
        }
        return nil
    }

    var allNames: [String] {
        entries.compactMap { String(validating: bytes[$0.keyStart..<$0.keyStart + $0.keyLength], as: UTF8.self) }
    }
}

private struct UnkeyedNodeDecodingContainer: UnkeyedDecodingContainer {
    let bytes: [UInt8]
    let path: CodingPath
    var codingPath: [any CodingKey] { path.keys }
    let count: Int?
    private(set) var currentIndex = 0
    private var offset: Int

    init(bytes: [UInt8], offset: Int, path: CodingPath) throws {
        self.bytes = bytes
        self.path = path
        var reader = ByteReader(bytes, offset: offset, what: "encoded container")
        do {
            if try reader.expectTag(.array, or: .unordered, for: [Any].self) == .unordered { _ = try reader.readVarint() }
            count = try reader.readLength()
        } catch let error as DecodingError {
            throw error.at(path.keys)
        }
        self.offset = reader.offset
    }

    var isAtEnd: Bool { currentIndex >= (count ?? 0) }

    private func checkNotAtEnd<T>(_ type: T.Type) throws {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath, debugDescription: "unkeyed container is at its end (\(count ?? 0) elements)"))
        }
    }

    mutating func decodeNil() throws -> Bool {
        try checkNotAtEnd(Never.self)
        guard bytes[offset] == BinaryTag.null.rawValue else { return false }
        offset += 1
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next(type) }

    private mutating func next<T: Decodable>(_ type: T.Type) throws -> T {
        try checkNotAtEnd(type)
        let (value, end) = try decodeValue(type, bytes: bytes, offset: offset, path: path)
        offset = end
        currentIndex += 1
        return value
    }

    private mutating func nextPrimitive<P: BinaryPrimitive>(_ type: P.Type) throws -> P {
        try checkNotAtEnd(type)
        let (value, end) = try readPrimitive(type, bytes: bytes, offset: offset, codingPath: path.keys)
        offset = end
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

    private mutating func skipCurrent() throws -> Int {
        try checkNotAtEnd(Any.self)
        let start = offset
        var reader = ByteReader(bytes, offset: offset, what: "encoded container")
        try reader.skipValue()
        offset = reader.offset
        currentIndex += 1
        return start
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        KeyedDecodingContainer(try KeyedNodeDecodingContainer<NestedKey>(bytes: bytes, offset: try skipCurrent(), path: path))
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try UnkeyedNodeDecodingContainer(bytes: bytes, offset: try skipCurrent(), path: path)
    }

    mutating func superDecoder() throws -> any Decoder {
        NodeDecoder(bytes: bytes, offset: try skipCurrent(), path: path)
    }
}

private struct SingleNodeDecodingContainer: SingleValueDecodingContainer {
    let bytes: [UInt8]
    let offset: Int
    let path: CodingPath
    var codingPath: [any CodingKey] { path.keys }

    func decodeNil() -> Bool { offset < bytes.count && bytes[offset] == BinaryTag.null.rawValue }

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try value(type) }

    private func value<T: Decodable>(_ type: T.Type) throws -> T {
        try decodeValue(type, bytes: bytes, offset: offset, path: path, needsEnd: false).0
    }

    func decode(_ type: Bool.Type) throws -> Bool { try readPrimitive(type, bytes: bytes, offset: offset, codingPath: path.keys).value }
    func decode(_ type: String.Type) throws -> String { try readPrimitive(type, bytes: bytes, offset: offset, codingPath: path.keys).value }
    func decode(_ type: Double.Type) throws -> Double { try readPrimitive(type, bytes: bytes, offset: offset, codingPath: path.keys).value }
    func decode(_ type: Float.Type) throws -> Float { try readPrimitive(type, bytes: bytes, offset: offset, codingPath: path.keys).value }
    func decode(_ type: Int.Type) throws -> Int { try readPrimitive(type, bytes: bytes, offset: offset, codingPath: path.keys).value }
    func decode(_ type: Int8.Type) throws -> Int8 { try readPrimitive(type, bytes: bytes, offset: offset, codingPath: path.keys).value }
    func decode(_ type: Int16.Type) throws -> Int16 { try readPrimitive(type, bytes: bytes, offset: offset, codingPath: path.keys).value }
    func decode(_ type: Int32.Type) throws -> Int32 { try readPrimitive(type, bytes: bytes, offset: offset, codingPath: path.keys).value }
    func decode(_ type: Int64.Type) throws -> Int64 { try readPrimitive(type, bytes: bytes, offset: offset, codingPath: path.keys).value }
    func decode(_ type: UInt.Type) throws -> UInt { try readPrimitive(type, bytes: bytes, offset: offset, codingPath: path.keys).value }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try readPrimitive(type, bytes: bytes, offset: offset, codingPath: path.keys).value }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try readPrimitive(type, bytes: bytes, offset: offset, codingPath: path.keys).value }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try readPrimitive(type, bytes: bytes, offset: offset, codingPath: path.keys).value }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try readPrimitive(type, bytes: bytes, offset: offset, codingPath: path.keys).value }
}
