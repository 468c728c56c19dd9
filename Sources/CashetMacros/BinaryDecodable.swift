/// Gives a `Codable` struct a fast path out of cashet's binary format: a conformance to
/// ``BinaryDecodable`` whose ``BinaryDecodable/init(binaryFields:)`` reads exactly the fields
/// the synthesized `Decodable` conformance reads, without the `Decoder` machinery.
///
/// ```swift
/// @BinaryDecodable
/// struct Summary: Codable, Sendable {
///     var id: Int
///     var label: String
///     var values: [Double]
/// }
/// ```
///
/// A warm hit on a small struct decodes several times faster (README "Performance"). Nothing
/// else changes: the stored bytes are the same, and bytes the fast path does not expect are
/// decoded through `init(from:)` with the same result. The macro refuses, with an error, types
/// whose coding it cannot see whole: custom `CodingKeys`, a hand-written `init(from:)`, property
/// wrappers and `lazy` properties. A hand-written `init(from:)` in another file is invisible to
/// it, so do not apply it to such a type.
@attached(extension, conformances: BinaryDecodable, names: named(init(binaryFields:)))
public macro BinaryDecodable() = #externalMacro(module: "CashetMacroPlugin", type: "BinaryDecodableMacro")
