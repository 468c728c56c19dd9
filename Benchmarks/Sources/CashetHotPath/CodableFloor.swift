/// What `Codable` itself costs for `SmallResult`, whatever the format: `init(from:)` through a
/// decoder that reads nothing and answers each field from constants, with the allocations a real
/// decode makes (a 36-byte `String`, a 6-element `[Double]`, the decoder's one object, the
/// standard library's keyed-container box). `CashetHotPath codable-floor N` times it beside
/// `decode` (the binary decoder) and `by-hand` (the same values built without `Codable`).
enum CodableFloor {
    static let label: [UInt8] = Array("result-1-abcdefghijklmnopqrstuvwxyz".utf8)
    static let values: [Double] = [1.5, 2.5, 3.5, 4.5, 5.5, 6.5]

    /// The decoder's one object, as `BinaryDecoder` has one.
    final class Input {
        let bytes: [UInt8]
        init(_ bytes: [UInt8]) { self.bytes = bytes }
    }

    static func decode(_ bytes: [UInt8]) throws -> SmallResult {
        try SmallResult(from: NothingDecoder(input: Input(bytes)))
    }

    static func byHand(_ bytes: [UInt8]) -> SmallResult {
        SmallResult(id: bytes.count, label: String(decoding: label, as: UTF8.self), values: copy(values))
    }

    static func copy(_ values: [Double]) -> [Double] {
        var copy: [Double] = []
        copy.reserveCapacity(values.count)
        for value in values { copy.append(value) }
        return copy
    }

    struct NothingDecoder: Decoder {
        let input: Input
        var codingPath: [any CodingKey] { [] }
        var userInfo: [CodingUserInfoKey: Any] { [:] }
        func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
            KeyedDecodingContainer(Container<Key>(input: input))
        }
        func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw Unsupported() }
        func singleValueContainer() throws -> any SingleValueDecodingContainer { throw Unsupported() }
    }

    struct Unsupported: Error {}

    struct Container<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let input: Input
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { [] }
        func contains(_ key: Key) -> Bool { true }
        func decodeNil(forKey key: Key) throws -> Bool { false }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { input.bytes.count }
        func decode(_ type: String.Type, forKey key: Key) throws -> String { String(decoding: CodableFloor.label, as: UTF8.self) }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            guard let values = CodableFloor.copy(CodableFloor.values) as? T else { throw Unsupported() }
            return values
        }
        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            throw Unsupported()
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { throw Unsupported() }
        func superDecoder() throws -> any Decoder { throw Unsupported() }
        func superDecoder(forKey key: Key) throws -> any Decoder { throw Unsupported() }
    }
}
