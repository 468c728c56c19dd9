import Foundation

/// Stores `[UInt8]`, `Data` and `String` (UTF-8) results as their bytes, with no framing.
///
/// Any other result type is rejected with a `.serialization` error.
public struct RawBytesSerializer: Serializer {
    /// Creates the serializer.
    public init() {}

    public var name: String { "raw" }

    public func encode<T: Encodable>(_ value: T) throws(CashetError) -> [UInt8] {
        switch value {
        case let bytes as [UInt8]: return bytes
        case let data as Data: return Array(data)
        case let string as String: return Array(string.utf8)
        default: throw Self.unsupported(T.self)
        }
    }

    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws(CashetError) -> T {
        if T.self == [UInt8].self { return bytes as! T }
        if T.self == Data.self { return Data(bytes) as! T }
        if T.self == String.self {
            guard let string = String(validating: bytes, as: UTF8.self) else {
                throw CashetError(.serialization, "the \(bytes.count) stored bytes are not valid UTF-8, so they cannot be a String")
            }
            return string as! T
        }
        throw Self.unsupported(T.self)
    }

    private static func unsupported(_ type: Any.Type) -> CashetError {
        CashetError(.serialization, "RawBytesSerializer stores only [UInt8], Data and String, not \(type)")
    }
}
