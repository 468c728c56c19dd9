import Foundation

/// JSON with sorted keys: readable with `cashet get`, interoperable with other tools.
public struct JSONSerializer: Serializer {
    /// Creates the serializer.
    public init() {}

    public var name: String { "json" }

    public func encode<T: Encodable>(_ value: T) throws(CashetError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do { return Array(try encoder.encode(value)) } catch {
            throw CashetError(.serialization, "cannot encode \(T.self) as JSON", underlying: error)
        }
    }

    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws(CashetError) -> T {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do { return try decoder.decode(type, from: Data(bytes)) } catch {
            throw CashetError(.serialization, "cannot decode \(T.self) from \(bytes.count) bytes of JSON", underlying: error)
        }
    }
}
