import CashetTestSupport
import Foundation
import Testing

@Suite("CashetIdentityTool (the build-tool plugin's program), run for real")
struct IdentityToolTests {
    /// Writes `files` to a temp dir, runs the tool, returns the generated Swift.
    func generate(_ files: [String: String]) throws -> String {
        let directory = TemporaryDirectory()
        var paths: [String] = []
        for (name, text) in files.sorted(by: { $0.key < $1.key }) {
            let path = directory.child(name)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            paths.append(path)
        }
        let output = directory.child("CashetIdentities.swift")
        let result = try Products.run(Products.executable("CashetIdentityTool"), [output] + paths)
        #expect(result.status == 0, "\(result.stderr)")
        return try String(contentsOfFile: output, encoding: .utf8)
    }

    func helperHash(_ generated: String, _ symbol: String) -> String? {
        generated.split(separator: "\n").first { $0.contains("static let \(symbol) = ") }.map { String($0.split(separator: "\"")[1]) }
    }

    static let pipeline = """
        @Cached func pipeline(_ x: Int) -> Int { step(x) + 1 }
        """
    static let helpers = """
        func step(_ x: Int) -> Int { deep(x) * 2 }
        func deep(_ x: Int) -> Int { x - 1 }
        func unrelated() -> Int { 42 }
        """

    @Test("editing a helper (directly or two levels down) changes the identity; other edits do not")
    func helperEdits() throws {
        let base = try #require(helperHash(try generate(["a.swift": Self.pipeline, "b.swift": Self.helpers]), "pipeline"))
        let direct = try generate(["a.swift": Self.pipeline, "b.swift": Self.helpers.replacingOccurrences(of: "* 2", with: "* 3")])
        let deep = try generate(["a.swift": Self.pipeline, "b.swift": Self.helpers.replacingOccurrences(of: "x - 1", with: "x - 2")])
        let unrelated = try generate(["a.swift": Self.pipeline, "b.swift": Self.helpers.replacingOccurrences(of: "42", with: "43")])
        let comments = try generate(["a.swift": Self.pipeline, "b.swift": "// helpers\n" + Self.helpers.replacingOccurrences(of: "x - 1", with: "x - 1 /* same */")])
        #expect(helperHash(direct, "pipeline") != base)
        #expect(helperHash(deep, "pipeline") != base)
        #expect(helperHash(unrelated, "pipeline") == base)
        #expect(helperHash(comments, "pipeline") == base)
    }

    @Test("mutual recursion between helpers terminates")
    func mutualRecursion() throws {
        let generated = try generate(["r.swift": """
            @Cached func start(_ n: Int) -> Int { ping(n) }
            func ping(_ n: Int) -> Int { n <= 0 ? 0 : pong(n - 1) }
            func pong(_ n: Int) -> Int { n <= 0 ? 1 : ping(n - 1) }
            """])
        #expect(helperHash(generated, "start") != nil)
    }

    @Test("reading a module-level or static var warns at compile time; allowMutableState silences it")
    func mutableStateWarning() throws {
        let generated = try generate(["s.swift": """
            var threshold = 10
            enum Settings { static var scale = 2 }
            @Cached func above(_ x: Int) -> Bool { x > threshold }
            @Cached func scaled(_ x: Int) -> Int { helper(x) }
            func helper(_ x: Int) -> Int { x * Settings.scale }
            @Cached(allowMutableState: true) func quiet(_ x: Int) -> Bool { x > threshold }
            @Cached func shadowed(_ threshold: Int) -> Int { let scale = 3; return threshold * scale }
            """])
        #expect(generated.contains("#warning(\"@Cached function 'above' reads mutable state 'threshold' (s.swift:1)"))
        #expect(generated.contains("#warning(\"@Cached function 'scaled' reads mutable state 'Settings.scale' (s.swift:2)"))
        #expect(!generated.contains("function 'quiet'"))
        #expect(!generated.contains("function 'shadowed'"))
    }
}
