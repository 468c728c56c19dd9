import CashetMacros
import Foundation
import Testing

@Suite("@Cached in use (macro + build-tool plugin)", .serialized)
struct CachedMacroUseTests {
    @Test("client.submit($function, args…) runs once and then hits")
    func submitGenerated() async throws {
        let fixture = try Fixture()
        let before = fixtureRuns.value
        let ref = try await fixture.client.submit($expensiveTransform, [1, 2, 3], 2.0)
        #expect(try await ref.load() == [2, 4, 6])
        let again = try await fixture.client.submit($expensiveTransform, [1, 2, 3], 2.0)
        #expect(again.wasCached && fixtureRuns.value == before + 1)
        #expect($expensiveTransform.identity.name == "expensiveTransform")
        #expect($expensiveTransform.identity.source?.contains("data.map { $0 * scale * unitFactor() }") == true)
    }

    @Test("static methods use their type; instance methods key on the receiver too")
    func methods() async throws {
        let fixture = try Fixture()
        #expect(try await fixture.client.submit(Geometry.$area, 7).load() == 49)
        #expect(Geometry.$area.identity.name == "Geometry.area" && Geometry.$area.tags == ["kind": "geometry"])
        let two = try await fixture.client.submit(Meter.$scaled, Meter(value: 2), 3.0)
        let three = try await fixture.client.submit(Meter.$scaled, Meter(value: 3), 3.0)
        #expect(try await two.load() == 6)
        #expect(try await three.load() == 9)
        #expect(!three.wasCached)
        #expect(try await fixture.client.submit(Meter.$scaled, Meter(value: 2), 3.0).wasCached)
    }

    @Test("cashet show prints the function's name and original source")
    func showPrintsSource() async throws {
        let fixture = try Fixture()
        let ref = try await fixture.client.submit(Geometry.$area, 5)
        let shown = try Products.cashet("--store", fixture.storePath, "show", String(ref.commit.hex.prefix(10)))
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("function    Geometry.area (version 1)"))
        #expect(shown.stdout.contains("static func area(_ side: Int) -> Int { side * side }"))
        #expect(shown.stdout.contains("identity    \(Geometry.$area.identity.hash.hex)"))
    }

    @Test("an unchanged function has the same identity in two separately built targets and two processes")
    func identityAcrossBuilds() throws {
        let first = try Products.run(Products.helper, ["identity"])
        let second = try Products.run(Products.helper, ["identity"])
        #expect(first.status == 0 && first.stdout == second.stdout)
        #expect(first.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == $sharedIdentityProbe.identity.hash.hex)
        // Different functions, different identities.
        #expect($sharedIdentityProbe.identity.hash != $expensiveTransform.identity.hash)
    }
}

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
        let result = try Products.run(Products.directory.appendingPathComponent("CashetIdentityTool").path, [output] + paths)
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
