import CashetIdentity
import Crypto
import Foundation
import Testing

@Suite("Source normalization")
struct NormalizationTests {
    static let original = """
        /// Scales every element.
        func transform(data: [Double], scale: Double) -> [Double] {
            // multiply
            let factor = scale * 2
            return data.map { $0 * factor }
        }
        """

    @Test("comment, doc-comment and whitespace/formatting edits keep the hash", arguments: [
        // comment only
        """
        /// Scales every element.
        func transform(data: [Double], scale: Double) -> [Double] {
            // multiply by twice the scale (changed comment)
            let factor = scale * 2 /* inline */
            return data.map { $0 * factor }
        }
        """,
        // doc comment only
        """
        /// Multiplies each value; documentation rewritten.
        /// - Parameter data: the input
        func transform(data: [Double], scale: Double) -> [Double] {
            // multiply
            let factor = scale * 2
            return data.map { $0 * factor }
        }
        """,
        // formatting only
        """
        func transform(data: [Double],
                       scale: Double)
            -> [Double]
        {
            let factor   =   scale*2
            return data.map {
                $0 * factor
            }
        }
        """,
    ])
    func triviaKeepsHash(edited: String) {
        #expect(SourceNormalizer.normalize(source: edited) == SourceNormalizer.normalize(source: Self.original))
        #expect(SHA256.hex(SourceNormalizer.normalize(source: edited)) == SHA256.hex(SourceNormalizer.normalize(source: Self.original)))
    }

    @Test("renaming a local, changing an operator or a literal changes the hash", arguments: [
        ("let factor", "let multiplier"),
        ("scale * 2", "scale + 2"),
        ("scale * 2", "scale * 3"),
        ("$0 * factor", "$0 / factor"),
    ])
    func semanticEditsChangeHash(from: String, to: String) {
        let edited = Self.original.replacingOccurrences(of: from, with: to)
        #expect(edited != Self.original)
        #expect(SourceNormalizer.normalize(source: edited) != SourceNormalizer.normalize(source: Self.original))
    }

    @Test("string literal contents are kept exactly, whitespace included")
    func stringLiterals() {
        let a = SourceNormalizer.normalize(source: #"func f() -> String { "a  b" }"#)
        let b = SourceNormalizer.normalize(source: #"func f() -> String { "a b" }"#)
        #expect(a != b)
    }

    @Test("the @Cached attribute and its arguments are not part of the normalized body")
    func cachedAttributeIgnored() {
        let plain = SourceNormalizer.normalize(source: "func f(x: Int) -> Int { x }")
        let cached = SourceNormalizer.normalize(source: "@Cached(tags: [\"a\": \"b\"]) func f(x: Int) -> Int { x }")
        let other = SourceNormalizer.normalize(source: "@inlinable func f(x: Int) -> Int { x }")
        #expect(plain == cached)
        #expect(plain != other)
    }

    @Test("SHA-256 matches the FIPS vectors and swift-crypto", arguments: ["", "abc", String(repeating: "a", count: 1000), "héllo wörld"])
    func sha256(message: String) {
        let expected = Crypto.SHA256.hash(data: Array(message.utf8)).map { String(format: "%02x", $0) }.joined()
        #expect(CashetIdentity.SHA256.hex(message) == expected)
        if message == "abc" { #expect(expected == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") }
    }
}

@Suite("Code index: transitive helpers")
struct CodeIndexTests {
    static let module = """
        @Cached func pipeline(_ x: Int) -> Int { step(x) + 1 }
        func step(_ x: Int) -> Int { deep(x) * 2 }
        func deep(_ x: Int) -> Int { x - 1 }
        func unrelated() -> Int { 42 }
        enum Math {
            static func square(_ x: Int) -> Int { x * x }
            @Cached static func area(_ x: Int) -> Int { square(x) }
        }
        func ping(_ n: Int) -> Int { n <= 0 ? 0 : pong(n - 1) }
        func pong(_ n: Int) -> Int { n <= 0 ? 1 : ping(n - 1) }
        @Cached func bouncy(_ n: Int) -> Int { ping(n) + Swift.max(n, 0) }
        """

    func helpersHash(_ source: String, _ name: String) -> String { CodeIndex(sources: [source]).identityInputs(of: name, in: "Module", packages: []).hash }

    @Test("helpers are found directly, two levels down, and inside types")
    func reachability() {
        let index = CodeIndex(sources: [Self.module])
        #expect(index.reached(from: "pipeline", in: "Module").map(\.qualifiedName) == ["deep", "step"])
        #expect(index.reached(from: "Math.area", in: "Module").map(\.qualifiedName) == ["Math.square"])
        #expect(Set(index.cachedFunctions(in: "Module").map(\.qualifiedName)) == ["pipeline", "Math.area", "bouncy"])
    }

    @Test("editing a direct or a two-levels-down helper changes the identity; an unrelated edit does not")
    func helperEdits() {
        let base = helpersHash(Self.module, "pipeline")
        #expect(helpersHash(Self.module.replacingOccurrences(of: "deep(x) * 2", with: "deep(x) * 3"), "pipeline") != base)
        #expect(helpersHash(Self.module.replacingOccurrences(of: "x - 1", with: "x - 2"), "pipeline") != base)
        #expect(helpersHash(Self.module.replacingOccurrences(of: "{ 42 }", with: "{ 43 }"), "pipeline") == base)
        #expect(helpersHash(Self.module.replacingOccurrences(of: "func deep(_ x: Int) -> Int { x - 1 }", with: "/// docs\nfunc deep(_ x: Int) -> Int {\n    x - 1 // same\n}"), "pipeline") == base)
    }

    @Test("mutual recursion terminates and both partners count")
    func mutualRecursion() {
        let index = CodeIndex(sources: [Self.module])
        #expect(index.reached(from: "bouncy", in: "Module").map(\.qualifiedName) == ["ping", "pong"])
        #expect(helpersHash(Self.module.replacingOccurrences(of: "? 1 :", with: "? 2 :"), "bouncy") != helpersHash(Self.module, "bouncy"))
        // A function that calls itself is not its own helper.
        #expect(CodeIndex(sources: ["func f(_ n: Int) -> Int { n == 0 ? 0 : f(n - 1) }"]).reached(from: "f", in: "Module").isEmpty)
    }

    @Test("the same sources give the same hashes (no process-seeded hashing)")
    func deterministic() {
        #expect(helpersHash(Self.module, "pipeline") == helpersHash(Self.module, "pipeline"))
        #expect(CodeIndex.helperSymbol(for: "Math.area") == "Math__area")
    }
}
