import CashetMacroPlugin
import SwiftSyntaxMacroExpansion
import SwiftSyntaxMacrosGenericTestSupport
import Testing

private let macros: [String: MacroSpec] = ["BinaryDecodable": MacroSpec(type: BinaryDecodableMacro.self, conformances: ["BinaryDecodable"])]

/// `expect(_:expandsTo:diagnostics:macros:)` with this file's macros.
private func expect(_ source: String, expandsTo expanded: String, diagnostics: [DiagnosticSpec] = [], sourceLocation: SourceLocation = #_sourceLocation) {
    expect(source, expandsTo: expanded, diagnostics: diagnostics, macros: macros, sourceLocation: sourceLocation)
}

@Suite("@BinaryDecodable expansion")
struct BinaryDecodableMacroTests {
    @Test("fields are read in their keys' byte order, optionals if present; computed, static and initialized lets are left out")
    func fieldsInStoredOrder() {
        let body = """
            var zeta: String
            var alpha, beta: Int?
            var `default` = 3
            let fixed = 1
            static var shared = 0
            var computed: Int { 4 }
            var observed: [Double] { didSet {} }
            var Upper: Optional<Int>
            """
        expect(
            """
            @BinaryDecodable
            public struct Sample: Codable {
            \(body)
            }
            """,
            expandsTo: """
            public struct Sample: Codable {
            \(body)
            }

            extension Sample: Cashet.BinaryDecodable {
                /// Reads the fields in stored order; written by `@BinaryDecodable`.
                public init(binaryFields fields: inout Cashet.BinaryFields) throws {
                    self.Upper = try fields.nextIfPresent(#"Upper"#)
                    self.alpha = try fields.nextIfPresent(#"alpha"#)
                    self.beta = try fields.nextIfPresent(#"beta"#)
                    self.`default` = try fields.next(#"default"#)
                    self.observed = try fields.next(#"observed"#)
                    self.zeta = try fields.next(#"zeta"#)
                }
            }
            """)
    }

    @Test("types whose coding the macro cannot see whole are refused with an error")
    func refusals() {
        expect(
            """
            @BinaryDecodable
            struct Renamed: Codable {
                var a: Int
                enum CodingKeys: String, CodingKey {
                    case a = "b"
                }
            }
            """,
            expandsTo: """
            struct Renamed: Codable {
                var a: Int
                enum CodingKeys: String, CodingKey {
                    case a = "b"
                }
            }
            """,
            diagnostics: [DiagnosticSpec(message: "@BinaryDecodable cannot mirror custom CodingKeys; remove @BinaryDecodable or the CodingKeys enum", line: 4, column: 10)])
        expect(
            """
            @BinaryDecodable
            struct Wrapped: Codable {
                @Clamped var a: Int
                lazy var b: Int = 2
            }
            """,
            expandsTo: """
            struct Wrapped: Codable {
                @Clamped var a: Int
                lazy var b: Int = 2
            }
            """,
            diagnostics: [
                DiagnosticSpec(message: "@BinaryDecodable cannot mirror the property 'a', which has the attribute '@Clamped', whose coding the macro cannot see; remove @BinaryDecodable from this type", line: 3, column: 5),
                DiagnosticSpec(message: "@BinaryDecodable cannot mirror the property 'b', which is lazy; remove @BinaryDecodable from this type", line: 4, column: 14),
            ])
        expect(
            """
            @BinaryDecodable
            enum Choice: Codable {
                case a
            }
            """,
            expandsTo: """
            enum Choice: Codable {
                case a
            }
            """,
            diagnostics: [DiagnosticSpec(message: "@BinaryDecodable can only be applied to a struct; other types decode through Decodable as they are", line: 1, column: 1)])
    }

    @Test("a hand-written init(from:) is refused")
    func customInitFromDecoder() {
        expect(
            """
            @BinaryDecodable
            struct Custom: Codable {
                var a: Int
                init(from decoder: any Decoder) throws { a = 1 }
            }
            """,
            expandsTo: """
            struct Custom: Codable {
                var a: Int
                init(from decoder: any Decoder) throws { a = 1 }
            }
            """,
            diagnostics: [DiagnosticSpec(message: "@BinaryDecodable cannot mirror a hand-written init(from:); remove @BinaryDecodable or the initializer", line: 4, column: 5)])
    }
}
