import CashetTestSupport
import Foundation
import Testing

/// Type-checks a snippet with the real compiler, the built Cashet module and the built macro
/// plugin, and returns what the compiler printed.
private func typecheck(_ source: String) throws -> ProcessResult {
    let directory = TemporaryDirectory()
    let file = directory.child("snippet.swift")
    try source.write(toFile: file, atomically: true, encoding: .utf8)
    let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    let build = Products.directory.path
    var arguments = ["swiftc", "-typecheck", "-swift-version", "6", "-I", build + "/Modules"]
    for module in ["CCashetLMDB", "CCashetZstd", "CCashetXXHash", "CCashetSystem/include"] { arguments += ["-I", "\(packageRoot)/Sources/\(module)"] }
    arguments += ["-load-plugin-executable", "\(build)/CashetMacroPlugin-tool#CashetMacroPlugin", file]
    return try Products.run("/usr/bin/env", arguments)
}

@Suite("@Cached misuse, compiled for real")
struct CachedCompileErrorTests {
    static let plugin = "enum __CashetIdentityPlugin { static let measure = Cashet.IdentityManifest(hash: \"\", encoded: \"\") }\n"

    @Test("a parameter type that is not encodable fails to compile, naming the type")
    func nonEncodableParameter() throws {
        let result = try typecheck("import CashetMacros\nstruct Opaque { var handle: Int }\n" + Self.plugin + "@Cached func measure(_ thing: Opaque) -> Int { thing.handle }\n")
        #expect(result.status != 0)
        #expect(result.stderr.contains("requires that 'Opaque' conform to 'CashetValue'"), "\(result.stderr)")
    }

    @Test("a result type that is not Codable fails to compile, naming the type")
    func nonCodableResult() throws {
        let result = try typecheck("import CashetMacros\nstruct Opaque { var handle: Int }\n" + Self.plugin + "@Cached func measure(_ x: Int) -> Opaque { Opaque(handle: x) }\n")
        #expect(result.status != 0)
        #expect(result.stderr.contains("'Opaque' conform to"), "\(result.stderr)")
    }

    @Test("in a file that imports cashet, `Executor` is still Swift's concurrency protocol")
    func executorIsSwifts() throws {
        let result = try typecheck("import CashetMacros\nfunc run(_ executor: any Executor, _ job: consuming ExecutorJob) { executor.enqueue(job) }\n")
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test("@BinaryDecodable's expansion compiles for every kind of field, and custom CodingKeys are refused")
    func binaryDecodableCompiles() throws {
        let fields = "    var id: Int\n    var name: String?\n    var values: [Double]\n    var small: Int8 = 0\n    let fixed = 1\n    var nested: [String: [Float]]\n"
        let good = try typecheck("import CashetMacros\n@BinaryDecodable\nstruct Point: Codable, Sendable {\n\(fields)}\n")
        #expect(good.status == 0, "\(good.stderr)")
        let refused = try typecheck("import CashetMacros\n@BinaryDecodable\nstruct Point: Codable {\n    var x: Int\n    enum CodingKeys: String, CodingKey { case x = \"y\" }\n}\n")
        #expect(refused.status != 0 && refused.stderr.contains("@BinaryDecodable cannot mirror custom CodingKeys"), "\(refused.stderr)")
    }

    @Test("a stored property is rejected by the compiler with the macro's message")
    func storedProperty() throws {
        let result = try typecheck("import CashetMacros\n@Cached var total = 0\n")
        #expect(result.status != 0)
        #expect(result.stderr.contains("@Cached can only be applied to a function declaration, not to the property 'total'"), "\(result.stderr)")
    }

    @Test("a target without CashetIdentityPlugin fails with a message that names it")
    func missingPlugin() throws {
        let result = try typecheck("import CashetMacros\n@Cached func measure(_ x: Int) -> Int { x }\n")
        #expect(result.status != 0)
        #expect(result.stderr.contains("cannot find '__CashetIdentityPlugin' in scope"), "\(result.stderr)")
    }

    @Test("a correct function type-checks cleanly")
    func cleanFunction() throws {
        let result = try typecheck("import CashetMacros\n" + Self.plugin + "@Cached func measure(_ x: [Int]) async throws -> [String: Int] { [\"n\": x.count] }\n")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stderr.contains("warning"), "\(result.stderr)")
    }
}
