import Foundation

/// A value that can be passed to a cached function.
///
/// Its canonical bytes enter the call's fingerprint; before the function runs it is
/// resolved to the `Resolved` value the function takes. Plain values resolve to themselves
/// (``CashetValue``); a ``ResultRef`` hashes as the blob it refers to and resolves to the
/// loaded result, which is what lets an unchanged upstream output stop re-execution.
public protocol CashetArgument: Sendable {
    /// The type the cached function receives.
    associatedtype Resolved: Sendable
    /// Appends the bytes that identify this argument in the cache key.
    func writeCanonicalBytes(to arguments: inout CanonicalArguments) throws(CashetError)
    /// A short readable rendering for commit records (`cashet show`).
    var argumentDescription: String { get }
    /// The value handed to the function when it runs (only on a cache miss).
    nonisolated(nonsending) func resolvedValue() async throws(CashetError) -> Resolved
}

/// A `Codable` value that is its own argument. Conform your argument types to it:
///
/// ```swift
/// struct Point: CashetValue { var x: Double; var y: Double }
/// ```
public protocol CashetValue: CashetArgument, Codable where Resolved == Self {}

extension CashetValue {
    public func writeCanonicalBytes(to arguments: inout CanonicalArguments) throws(CashetError) {
        try arguments.append(self)
    }

    public nonisolated(nonsending) func resolvedValue() async throws(CashetError) -> Self { self }

    public var argumentDescription: String { ArgumentSnapshot.render(self) }
}

/// The canonical byte form of a call's arguments, whose SHA-256 is the arguments hash.
public struct CanonicalArguments: Sendable {
    var writer = ByteWriter(capacity: 64)

    init() {}

    /// Appends a value in cashet's canonical binary format (sorted keys and sets, canonical NaN).
    public mutating func append<T: Encodable>(_ value: T) throws(CashetError) {
        do { try BinaryEncoder().encode(value, into: &writer) } catch {
            throw CashetError(.invalidArgument, "argument of type \(T.self) cannot be encoded canonically", underlying: error)
        }
    }

    /// Appends a reference to a stored blob (how a `ResultRef` argument is identified).
    mutating func appendBlobReference(_ hash: ContentHash) {
        writer.appendTag(.resultRef)
        writer.append(contentsOf: hash.bytes)
    }

    /// The bytes written so far.
    public var bytes: [UInt8] { writer.bytes }
}

/// Renders argument values readably (sorted-key JSON, falling back to `String(describing:)`).
enum ArgumentSnapshot {
    static func render<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        if let data = try? encoder.encode(value), let text = String(data: data, encoding: .utf8) { return text }
        return String(describing: value)
    }
}

extension Int: CashetValue {}
extension Int8: CashetValue {}
extension Int16: CashetValue {}
extension Int32: CashetValue {}
extension Int64: CashetValue {}
extension UInt: CashetValue {}
extension UInt8: CashetValue {}
extension UInt16: CashetValue {}
extension UInt32: CashetValue {}
extension UInt64: CashetValue {}
extension Double: CashetValue {}
extension Float: CashetValue {}
extension Bool: CashetValue {}
extension String: CashetValue {}
extension Data: CashetValue {}
extension Date: CashetValue {}
extension UUID: CashetValue {}
extension URL: CashetValue {}
extension ContentHash: CashetValue {}
extension Array: CashetArgument, CashetValue where Element: CashetValue {}
extension Set: CashetArgument, CashetValue where Element: CashetValue {}
extension Dictionary: CashetArgument, CashetValue where Key: CashetValue, Value: CashetValue {}
extension Optional: CashetArgument, CashetValue where Wrapped: CashetValue {}
