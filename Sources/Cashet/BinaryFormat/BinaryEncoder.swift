/// Encodes `Encodable` values into cashet's canonical binary format (see ``BinaryTag``).
///
/// Containers build a small tree first because keyed entries and unordered elements must be
/// sorted before they are written; scalars are written straight to bytes.
struct BinaryEncoder {
    /// Encodes one value.
    func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        var writer = ByteWriter()
        try encode(value, into: &writer)
        return writer.bytes
    }

    /// Appends one value to `writer`.
    func encode<T: Encodable>(_ value: T, into writer: inout ByteWriter) throws {
        if let primitive = value as? any BinaryPrimitive {
            primitive.writeBinary(to: &writer)
            return
        }
        let node = EncodingNode()
        try node.store(value, codingPath: [])
        node.write(to: &writer)
    }
}

/// One value being encoded: scalar bytes, or a container still being filled.
private final class EncodingNode {
    enum Content {
        case empty
        case bytes([UInt8])
        case keyed(KeyedNodes)
        case unkeyed(UnkeyedNodes)
        case unordered(width: Int, sortedGroups: [[UInt8]])
    }
    var content: Content = .empty

    /// Encodes a primitive with static dispatch (the containers' concrete-type overloads).
    func storePrimitive<P: BinaryPrimitive>(_ value: P) {
        var writer = ByteWriter(capacity: 16)
        value.writeBinary(to: &writer)
        content = .bytes(writer.bytes)
    }

    /// Arrays of primitives are written in one pass (same bytes as the generic path).
    func storePrimitiveArray<E: BinaryPrimitive>(_ elements: [E]) {
        var writer = ByteWriter(capacity: 2 + elements.count * 9)
        writer.appendTag(.array)
        writer.appendVarint(UInt64(elements.count))
        for element in elements { element.writeBinary(to: &writer) }
        content = .bytes(writer.bytes)
    }

    /// Encodes `value` into this node.
    func store<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws {
        if T.self == [Double].self {
            storePrimitiveArray(value as! [Double])
        } else if T.self == [Int].self {
            storePrimitiveArray(value as! [Int])
        } else if T.self == [String].self {
            storePrimitiveArray(value as! [String])
        } else if let primitive = value as? any BinaryPrimitive {
            storePrimitive(primitive)
        } else if let unordered = value as? any UnorderedEncodable, let (width, groups) = unordered.unorderedGroups() {
            var encoded: [[UInt8]] = []
            encoded.reserveCapacity(groups.count)
            for group in groups {
                var writer = ByteWriter()
                for element in group {
                    let child = EncodingNode()
                    try child.store(element, codingPath: codingPath)
                    child.write(to: &writer)
                }
                encoded.append(writer.bytes)
            }
            encoded.sort { $0.lexicographicallyPrecedes($1) }
            content = .unordered(width: width, sortedGroups: encoded)
        } else {
            try value.encode(to: NodeEncoder(node: self, codingPath: codingPath))
        }
    }

    func write(to writer: inout ByteWriter) {
        switch content {
        case .empty:
            // A type that encoded nothing at all (e.g. an empty struct): an empty keyed container.
            writer.appendTag(.keyed)
            writer.appendVarint(0)
        case .bytes(let bytes):
            writer.append(contentsOf: bytes)
        case .keyed(let keyed):
            writer.appendTag(.keyed)
            writer.appendVarint(UInt64(keyed.entries.count))
            for (key, child) in keyed.entries.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
                writer.appendString(key)
                child.write(to: &writer)
            }
        case .unkeyed(let unkeyed):
            writer.appendTag(.array)
            writer.appendVarint(UInt64(unkeyed.items.count))
            for child in unkeyed.items { child.write(to: &writer) }
        case .unordered(let width, let groups):
            writer.appendTag(.unordered)
            writer.appendVarint(UInt64(width))
            writer.appendVarint(UInt64(groups.count * width))
            for group in groups { writer.append(contentsOf: group) }
        }
    }

    func keyedNodes() -> KeyedNodes {
        if case .keyed(let existing) = content { return existing }
        let created = KeyedNodes()
        content = .keyed(created)
        return created
    }

    func unkeyedNodes() -> UnkeyedNodes {
        if case .unkeyed(let existing) = content { return existing }
        let created = UnkeyedNodes()
        content = .unkeyed(created)
        return created
    }
}

private final class KeyedNodes {
    var entries: [String: EncodingNode] = [:]
    func child(_ key: String) -> EncodingNode {
        let node = EncodingNode()
        entries[key] = node
        return node
    }
}

private final class UnkeyedNodes {
    var items: [EncodingNode] = []
    func append() -> EncodingNode {
        let node = EncodingNode()
        items.append(node)
        return node
    }
}

private struct IndexKey: CodingKey {
    var stringValue: String { "\(intValue ?? 0)" }
    var intValue: Int?
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private struct NodeEncoder: Encoder {
    let node: EncodingNode
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(KeyedNodeContainer<Key>(nodes: node.keyedNodes(), codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        UnkeyedNodeContainer(nodes: node.unkeyedNodes(), codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleNodeContainer(node: node, codingPath: codingPath)
    }
}

private struct KeyedNodeContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let nodes: KeyedNodes
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { nodes.child(key.stringValue).content = .bytes([BinaryTag.null.rawValue]) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try store(value, forKey: key) }

    private func store<T: Encodable>(_ value: T, forKey key: Key) throws {
        try nodes.child(key.stringValue).store(value, codingPath: codingPath + [key])
    }

    mutating func encode(_ value: Bool, forKey key: Key) throws { nodes.child(key.stringValue).storePrimitive(value) }
    mutating func encode(_ value: String, forKey key: Key) throws { nodes.child(key.stringValue).storePrimitive(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { nodes.child(key.stringValue).storePrimitive(value) }
    mutating func encode(_ value: Float, forKey key: Key) throws { nodes.child(key.stringValue).storePrimitive(value) }
    mutating func encode(_ value: Int, forKey key: Key) throws { nodes.child(key.stringValue).storePrimitive(value) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { nodes.child(key.stringValue).storePrimitive(value) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { nodes.child(key.stringValue).storePrimitive(value) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { nodes.child(key.stringValue).storePrimitive(value) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { nodes.child(key.stringValue).storePrimitive(value) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { nodes.child(key.stringValue).storePrimitive(value) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { nodes.child(key.stringValue).storePrimitive(value) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { nodes.child(key.stringValue).storePrimitive(value) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { nodes.child(key.stringValue).storePrimitive(value) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { nodes.child(key.stringValue).storePrimitive(value) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(KeyedNodeContainer<NestedKey>(nodes: nodes.child(key.stringValue).keyedNodes(), codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        UnkeyedNodeContainer(nodes: nodes.child(key.stringValue).unkeyedNodes(), codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder { NodeEncoder(node: nodes.child("super"), codingPath: codingPath) }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        NodeEncoder(node: nodes.child(key.stringValue), codingPath: codingPath + [key])
    }
}

private struct UnkeyedNodeContainer: UnkeyedEncodingContainer {
    let nodes: UnkeyedNodes
    let codingPath: [any CodingKey]
    var count: Int { nodes.items.count }

    mutating func encodeNil() throws { nodes.append().content = .bytes([BinaryTag.null.rawValue]) }

    mutating func encode<T: Encodable>(_ value: T) throws { try store(value) }

    private func store<T: Encodable>(_ value: T) throws {
        try nodes.append().store(value, codingPath: codingPath + [IndexKey(count)])
    }

    mutating func encode(_ value: Bool) throws { nodes.append().storePrimitive(value) }
    mutating func encode(_ value: String) throws { nodes.append().storePrimitive(value) }
    mutating func encode(_ value: Double) throws { nodes.append().storePrimitive(value) }
    mutating func encode(_ value: Float) throws { nodes.append().storePrimitive(value) }
    mutating func encode(_ value: Int) throws { nodes.append().storePrimitive(value) }
    mutating func encode(_ value: Int8) throws { nodes.append().storePrimitive(value) }
    mutating func encode(_ value: Int16) throws { nodes.append().storePrimitive(value) }
    mutating func encode(_ value: Int32) throws { nodes.append().storePrimitive(value) }
    mutating func encode(_ value: Int64) throws { nodes.append().storePrimitive(value) }
    mutating func encode(_ value: UInt) throws { nodes.append().storePrimitive(value) }
    mutating func encode(_ value: UInt8) throws { nodes.append().storePrimitive(value) }
    mutating func encode(_ value: UInt16) throws { nodes.append().storePrimitive(value) }
    mutating func encode(_ value: UInt32) throws { nodes.append().storePrimitive(value) }
    mutating func encode(_ value: UInt64) throws { nodes.append().storePrimitive(value) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(KeyedNodeContainer<NestedKey>(nodes: nodes.append().keyedNodes(), codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        UnkeyedNodeContainer(nodes: nodes.append().unkeyedNodes(), codingPath: codingPath)
    }

    mutating func superEncoder() -> any Encoder { NodeEncoder(node: nodes.append(), codingPath: codingPath) }
}

private struct SingleNodeContainer: SingleValueEncodingContainer {
    let node: EncodingNode
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.content = .bytes([BinaryTag.null.rawValue]) }

    mutating func encode<T: Encodable>(_ value: T) throws { try store(value) }

    private func store<T: Encodable>(_ value: T) throws { try node.store(value, codingPath: codingPath) }

    mutating func encode(_ value: Bool) throws { node.storePrimitive(value) }
    mutating func encode(_ value: String) throws { node.storePrimitive(value) }
    mutating func encode(_ value: Double) throws { node.storePrimitive(value) }
    mutating func encode(_ value: Float) throws { node.storePrimitive(value) }
    mutating func encode(_ value: Int) throws { node.storePrimitive(value) }
    mutating func encode(_ value: Int8) throws { node.storePrimitive(value) }
    mutating func encode(_ value: Int16) throws { node.storePrimitive(value) }
    mutating func encode(_ value: Int32) throws { node.storePrimitive(value) }
    mutating func encode(_ value: Int64) throws { node.storePrimitive(value) }
    mutating func encode(_ value: UInt) throws { node.storePrimitive(value) }
    mutating func encode(_ value: UInt8) throws { node.storePrimitive(value) }
    mutating func encode(_ value: UInt16) throws { node.storePrimitive(value) }
    mutating func encode(_ value: UInt32) throws { node.storePrimitive(value) }
    mutating func encode(_ value: UInt64) throws { node.storePrimitive(value) }
}
