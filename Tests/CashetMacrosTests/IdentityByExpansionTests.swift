import CashetMacroPlugin
import Foundation
import SwiftParser
import SwiftSyntax
import SwiftSyntaxMacroExpansion
import SwiftSyntaxMacros
import Testing

/// Expands `@Cached` on `source` and returns the `sourceHash:` the expansion carries.
private func expandedSourceHash(_ source: String) throws -> String {
    let file = Parser.parse(source: source)
    let context = BasicMacroExpansionContext()
    let expanded = file.expand(
        macros: ["Cached": CachedMacro.self],
        contextGenerator: { BasicMacroExpansionContext(sharingWith: context, lexicalContext: $0.allMacroLexicalContexts()) }
    ).description
    let marker = "sourceHash: \""
    let start = try #require(expanded.range(of: marker)).upperBound
    return String(expanded[start...].prefix(64))
}

@Suite("Identity through real macro expansion")
struct IdentityByExpansionTests {
    static let base = """
        /// Mean of the values above a threshold.
        @Cached
        func meanAbove(_ values: [Double], threshold: Double) -> Double {
            let kept = values.filter { $0 > threshold } // keep the large ones
            return kept.isEmpty ? 0 : kept.reduce(0, +) / Double(kept.count)
        }
        """

    @Test("comment, doc-comment and formatting edits keep the expanded identity", arguments: [
        base.replacingOccurrences(of: "// keep the large ones", with: "/* changed comment */"),
        base.replacingOccurrences(of: "/// Mean of the values above a threshold.", with: "/// Rewritten docs.\n/// - Returns: the mean"),
        base.replacingOccurrences(of: "    let kept = values.filter { $0 > threshold }", with: "    let kept = values.filter {\n        $0 > threshold\n    }"),
        base.replacingOccurrences(of: "@Cached\n", with: "@Cached(version: \"\")\n"),
    ])
    func triviaKeepsIdentity(edited: String) throws {
        #expect(edited != Self.base)
        #expect(try expandedSourceHash(edited) == expandedSourceHash(Self.base))
    }

    @Test("renaming a local, changing an operator or a literal changes the expanded identity", arguments: [
        ("kept", "retained"),  // a real rename: declaration and every use
        ("$0 > threshold", "$0 >= threshold"),
        ("? 0 :", "? -1 :"),
    ])
    func semanticEditsChangeIdentity(from: String, to: String) throws {
        let edited = Self.base.replacingOccurrences(of: from, with: to)
        #expect(edited != Self.base)
        #expect(try expandedSourceHash(edited) != expandedSourceHash(Self.base))
    }
}
