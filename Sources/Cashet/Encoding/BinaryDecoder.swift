/// Decodes values written by ``BinaryEncoder``.
struct BinaryDecoder {
    /// Decodes one value that must span all of `bytes`.
    func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        let (value, end) = try decodeValue(type, bytes: bytes, offset: 0, codingPath: [])
        guard end == bytes.count else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "\(bytes.count - end) bytes left over after decoding \(T.self)"))
        }
        return value
    }
}

/// Decodes the value starting at `offset`; returns it with the offset just past it.
private func decodeValue<T: Decodable>(_ type: T.Type, bytes: [UInt8], offset: Int, codingPath: [any CodingKey]) throws -> (T, Int) {
    if let primitive = T.self as? any BinaryPrimitive.Type {
        var reader = ByteReader(bytes, offset: offset, what: "encoded \(T.self)")
        do {
            let value = try primitive.readBinary(from: &reader) as! T  // readBinary returns Self, which is T
            return (value, reader.offset)
        } catch let error as DecodingError {
            throw error.at(codingPath)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "\(error)", underlyingError: error))
        }
    }
    let value = try T(from: NodeDecoder(bytes: bytes, offset: offset, codingPath: codingPath))
    var reader = ByteReader(bytes, offset: offset, what: "encoded \(T.self)")
    try reader.skipValue()
    return (value, reader.offset)
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

private struct NodeDecoder: Decoder {
    let bytes: [UInt8]
    let offset: Int
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(try KeyedNodeDecodingContainer<Key>(bytes: bytes, offset: offset, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try UnkeyedNodeDecodingContainer(bytes: bytes, offset: offset, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleNodeDecodingContainer(bytes: bytes, offset: offset, codingPath: codingPath)
    }
}

private struct KeyedNodeDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let bytes: [UInt8]
    let codingPath: [any CodingKey]
    /// Key → offset of its value. Few keys per struct: a linear scan beats hashing.
    private let entries: [(key: String, offset: Int)]

    init(bytes: [UInt8], offset: Int, codingPath: [any CodingKey]) throws {
        self.bytes = bytes
        self.codingPath = codingPath
        var reader = ByteReader(bytes, offset: offset, what: "encoded container")
        do {
            _ = try reader.expectTag(.keyed, for: [String: Any].self)
            let count = try reader.readLength()
            var entries: [(key: String, offset: Int)] = []
            entries.reserveCapacity(count)
            for _ in 0..<count {
                let key = try reader.readString()
                entries.append((key, reader.offset))
                try reader.skipValue()
            }
            self.entries = entries
        } catch let error as DecodingError {
            throw error.at(codingPath)
        }
    }

    var allKeys: [Key] { entries.compactMap { Key(stringValue: $0.key) } }

    func contains(_ key: Key) -> Bool { entries.contains { $0.key == key.stringValue } }

    private func offset(of key: Key) throws -> Int {
        guard let entry = entries.first(where: { $0.key == key.stringValue }) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no value for key '\(key.stringValue)'"))
        }
        return entry.offset
    }

    func decodeNil(forKey key: Key) throws -> Bool { bytes[try offset(of: key)] == BinaryTag.null.rawValue }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try value(type, forKey: key) }

    private func value<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try decodeValue(type, bytes: bytes, offset: try offset(of: key), codingPath: codingPath + [key]).0
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try value(type, forKey: key) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try value(type, forKey: key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try value(type, forKey: key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try value(type, forKey: key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try value(type, forKey: key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try value(type, forKey: key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try value(type, forKey: key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try value(type, forKey: key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try value(type, forKey: key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try value(type, forKey: key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try value(type, forKey: key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try value(type, forKey: key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try value(type, forKey: key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try value(type, forKey: key) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        KeyedDecodingContainer(try KeyedNodeDecodingContainer<NestedKey>(bytes: bytes, offset: try offset(of: key), codingPath: codingPath + [key]))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try UnkeyedNodeDecodingContainer(bytes: bytes, offset: try offset(of: key), codingPath: codingPath + [key])
    }

    func superDecoder() throws -> any Decoder {
        guard let entry = entries.first(where: { $0.key == "super" }) else {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "no super value"))
        }
        return NodeDecoder(bytes: bytes, offset: entry.offset, codingPath: codingPath)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        NodeDecoder(bytes: bytes, offset: try offset(of: key), codingPath: codingPath + [key])
    }
}

private struct UnkeyedNodeDecodingContainer: UnkeyedDecodingContainer {
    let bytes: [UInt8]
    let codingPath: [any CodingKey]
    let count: Int?
    private(set) var currentIndex = 0
    private var offset: Int

    init(bytes: [UInt8], offset: Int, codingPath: [any CodingKey]) throws {
        self.bytes = bytes
        self.codingPath = codingPath
        var reader = ByteReader(bytes, offset: offset, what: "encoded container")
        do {
            if try reader.expectTag(.array, .unordered, for: [Any].self) == .unordered { _ = try reader.readVarint() }
            count = try reader.readLength()
        } catch let error as DecodingError {
            throw error.at(codingPath)
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
        let (value, end) = try decodeValue(type, bytes: bytes, offset: offset, codingPath: codingPath)
        offset = end
        currentIndex += 1
        return value
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next(type) }
    mutating func decode(_ type: String.Type) throws -> String { try next(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try next(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try next(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next(type) }

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
        KeyedDecodingContainer(try KeyedNodeDecodingContainer<NestedKey>(bytes: bytes, offset: try skipCurrent(), codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try UnkeyedNodeDecodingContainer(bytes: bytes, offset: try skipCurrent(), codingPath: codingPath)
    }

    mutating func superDecoder() throws -> any Decoder {
        NodeDecoder(bytes: bytes, offset: try skipCurrent(), codingPath: codingPath)
    }
}

private struct SingleNodeDecodingContainer: SingleValueDecodingContainer {
    let bytes: [UInt8]
    let offset: Int
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool { offset < bytes.count && bytes[offset] == BinaryTag.null.rawValue }

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try value(type) }

    private func value<T: Decodable>(_ type: T.Type) throws -> T {
        try decodeValue(type, bytes: bytes, offset: offset, codingPath: codingPath).0
    }

    func decode(_ type: Bool.Type) throws -> Bool { try value(type) }
    func decode(_ type: String.Type) throws -> String { try value(type) }
    func decode(_ type: Double.Type) throws -> Double { try value(type) }
    func decode(_ type: Float.Type) throws -> Float { try value(type) }
    func decode(_ type: Int.Type) throws -> Int { try value(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try value(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try value(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try value(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try value(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try value(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try value(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try value(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try value(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try value(type) }
}
