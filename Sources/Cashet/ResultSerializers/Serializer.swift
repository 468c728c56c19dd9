/// Turns results into bytes for the store and back.
///
/// The serializer's bytes are what gets content-addressed, so a serializer should be
/// deterministic: the same value must give the same bytes, or identical results will not
/// deduplicate and downstream steps will not stop early.
public protocol Serializer: Sendable {
    /// A short name recorded for diagnostics ("binary", "json", "raw").
    var name: String { get }
    /// Encodes a result.
    func encode<T: Encodable>(_ value: T) throws(CashetError) -> [UInt8]
    /// Decodes a result previously encoded by this serializer.
    func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws(CashetError) -> T
}

/// The default: cashet's compact, canonical binary format (sorted keys, sorted sets).
public struct BinarySerializer: Serializer {
    /// Creates the serializer.
    public init() {}

    public var name: String { "binary" }

    public func encode<T: Encodable>(_ value: T) throws(CashetError) -> [UInt8] {
        do { return try BinaryEncoder().encode(value) } catch {
            throw CashetError(.serialization, "cannot encode \(T.self) in the binary format", underlying: error)
        }
    }

    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws(CashetError) -> T {
        do { return try BinaryDecoder().decode(type, from: bytes) } catch {
            throw CashetError(.serialization, "cannot decode \(T.self) from \(bytes.count) bytes of the binary format", underlying: error)
        }
    }
}
