import CashetTestSupport
import Foundation
import Testing

@Suite("CashetIdentityTool (the build-tool plugin's program), run for real")
struct IdentityToolTests {
    /// Writes `files` to a temp dir as the files of target `Module`, runs the tool with
    /// `extra` arguments after them, returns the generated Swift.
    func generate(_ files: [String: String], extra: [String] = []) throws -> String {
        let directory = TemporaryDirectory()
        var paths: [String] = []
        for (name, text) in files.sorted(by: { $0.key < $1.key }) {
            let path = directory.child(name)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            paths.append(path)
        }
        let output = directory.child("CashetIdentities.swift")
        let result = try Products.run(Products.executable("CashetIdentityTool"), [output, "--target", "Module", directory.path] + paths + extra)
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

    @Test("external package versions and local packages' sources enter the identity; ignoringDependencies must name one")
    func dependencies() throws {
        let local = TemporaryDirectory()
        let localFile = local.child("Dep.swift")
        let source = """
            @Cached func plain(_ x: Int) -> Int { x }
            @Cached(ignoringDependencies: ["swift-numerics"]) func ignoring(_ x: Int) -> Int { x }
            """
        func run(numerics: String, local text: String, extra source2: String = "") throws -> String {
            try text.write(toFile: localFile, atomically: true, encoding: .utf8)
            return try generate(["a.swift": source + source2], extra: ["--package", "swift-numerics", numerics, "abc", "--local-package", "Dep", local.path, localFile])
        }
        let base = try run(numerics: "1.0.2", local: "public func dep() -> Int { 1 }")
        let upgraded = try run(numerics: "1.0.3", local: "public func dep() -> Int { 1 }")
        let localEdit = try run(numerics: "1.0.2", local: "public func dep() -> Int { 2 }")
        let localComment = try run(numerics: "1.0.2", local: "// a comment\npublic func dep() -> Int { 1 }")
        #expect(helperHash(upgraded, "plain") != helperHash(base, "plain"))
        #expect(helperHash(upgraded, "ignoring") == helperHash(base, "ignoring"))
        #expect(helperHash(localEdit, "plain") != helperHash(base, "plain") && helperHash(localEdit, "ignoring") != helperHash(base, "ignoring"))
        #expect(helperHash(localComment, "plain") == helperHash(base, "plain"))
        #expect(base.contains("dependency\\tswift-numerics\\t1.0.2\\tabc") && base.contains("dependency\\tDep\\tlocal\\t"))
        let wrong = try run(numerics: "1.0.2", local: "", extra: "\n@Cached(ignoringDependencies: [\"swift-nothing\"]) func typo(_ x: Int) -> Int { x }")
        #expect(wrong.contains("#error(\"@Cached function 'typo' ignores dependency 'swift-nothing', which is not a package its target depends on (its packages: Dep, swift-numerics)\")"))
    }

    @Test("the summary cache: an unchanged file is not parsed again, an edited one is, and the output follows the edit")
    func summaryCache() throws {
        let directory = TemporaryDirectory()
        let files = ["a.swift": Self.pipeline, "b.swift": Self.helpers, "c.swift": "func other() -> Int { 1 }"]
        let old = Date(timeIntervalSinceNow: -60)
        for (name, text) in files {
            try text.write(toFile: directory.child(name), atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: directory.child(name))
        }
        let output = directory.child("out.swift")
        let arguments = [output, "--cache", directory.child("summaries.cache"), "--target", "Module", directory.path] + files.keys.sorted().map(directory.child)
        func run() throws -> (stats: String, hash: String?) {
            let result = try Products.run(Products.executable("CashetIdentityTool"), arguments, environment: ["CASHET_IDENTITY_STATS": "1"])
            #expect(result.status == 0, "\(result.stderr)")
            return (result.stderr, helperHash(try String(contentsOfFile: output, encoding: .utf8), "pipeline"))
        }
        let first = try run()
        let second = try run()
        #expect(first.stats.contains("3 files, 3 parsed") && second.stats.contains("3 files, 0 parsed"), "\(first.stats) \(second.stats)")
        #expect(first.hash == second.hash)
        try Self.helpers.replacingOccurrences(of: "x - 1", with: "x - 2").write(toFile: directory.child("b.swift"), atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -30)], ofItemAtPath: directory.child("b.swift"))
        let edited = try run()
        #expect(edited.stats.contains("3 files, 1 parsed"), "\(edited.stats)")
        #expect(edited.hash != first.hash)
        // A damaged cache is dropped, not trusted.
        try "cashet-identity-cache 1\nF\tgarbage".write(toFile: directory.child("summaries.cache"), atomically: true, encoding: .utf8)
        let afterDamage = try run()
        #expect(afterDamage.stats.contains("3 parsed") && afterDamage.hash == edited.hash)
    }
}
