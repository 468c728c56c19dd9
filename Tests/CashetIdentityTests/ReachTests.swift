import CashetIdentity
import Testing

/// The identity of `name` in module `Pipeline` over `files` (module name → sources).
private func identity(_ name: String, _ modules: [String: String], packages: [PackageVersion] = []) -> IdentityInputs {
    var index = CodeIndex()
    for (module, source) in modules.sorted(by: { $0.key < $1.key }) {
        index.add(SourceSummarizer.summarize(source: source, module: module, file: "\(module)/File.swift"))
    }
    return index.identityInputs(of: name, in: "Pipeline", packages: packages)
}

@Suite("What an identity reaches beyond functions, and across modules")
struct ReachTests {
    static let core = """
        public struct Shape {
            public var side: Double
            public var scale = 2.0
            public init(side: Double) { self.side = side }
            public var area: Double { side * side * scale }
            public subscript(_ factor: Double) -> Double { side * factor }
        }
        extension Shape: CustomStringConvertible {
            public var description: String { "Shape(\\(side))" }
        }
        public enum Unit: String { case metre = "m", foot = "ft" }
        public let normalize: (String) -> String = { $0.lowercased() }
        public let threshold = 10
        public func unrelated() -> Int { 42 }
        public func clamp(_ x: Int) -> Int { min(x, threshold) }
        public typealias Meters = Double
        """
    static let pipeline = """
        @Cached func build(_ side: Double) -> Double { Shape(side: side).area }
        @Cached func label(_ text: String) -> String { normalize(text) }
        @Cached func bounded(_ x: Int) -> Int { clamp(x) }
        @Cached func unit(_ raw: String) -> String { Unit(rawValue: raw)?.rawValue ?? "" }
        @Cached func typed(_ m: Meters) -> Double { m }
        @Cached func shadowing(_ x: Int) -> Int { let clamp = 3; return x * clamp }
        """

    func changes(_ name: String, _ edit: (String) -> String) -> Bool {
        identity(name, ["Core": Self.core, "Pipeline": Self.pipeline]).hash
            != identity(name, ["Core": edit(Self.core), "Pipeline": Self.pipeline]).hash
    }

    @Test("a type's stored-property default, computed property, initializer, subscript and extension are reached through its name")
    func typesAndMembers() {
        #expect(changes("build") { $0.replacingOccurrences(of: "scale = 2.0", with: "scale = 3.0") })
        #expect(changes("build") { $0.replacingOccurrences(of: "side * side * scale", with: "side * scale") })
        #expect(changes("build") { $0.replacingOccurrences(of: "self.side = side", with: "self.side = side + 1") })
        #expect(changes("build") { $0.replacingOccurrences(of: "side * factor", with: "factor") })
        #expect(changes("build") { $0.replacingOccurrences(of: "\"Shape(", with: "\"S(") })
        #expect(!changes("build") { $0.replacingOccurrences(of: "{ 42 }", with: "{ 43 }") })
        let kinds = Set(identity("build", ["Core": Self.core, "Pipeline": Self.pipeline]).helpers.map(\.kind))
        #expect(kinds == [.type, .initializer, .property, .subscriptMember, .extensionBlock])
    }

    @Test("closures in lets, constants, enum cases and type aliases are reached")
    func nonFunctionDeclarations() {
        #expect(changes("label") { $0.replacingOccurrences(of: "$0.lowercased()", with: "$0.uppercased()") })
        #expect(changes("bounded") { $0.replacingOccurrences(of: "threshold = 10", with: "threshold = 11") })
        #expect(changes("unit") { $0.replacingOccurrences(of: "\"ft\"", with: "\"feet\"") })
        #expect(changes("typed") { $0.replacingOccurrences(of: "= Double", with: "= Float") })
        #expect(!changes("label") { $0.replacingOccurrences(of: "threshold = 10", with: "threshold = 11") })
    }

    @Test("a local that shadows a declaration still reaches it: never miss, may over-invalidate")
    func shadowingOverApproximates() {
        #expect(changes("shadowing") { $0.replacingOccurrences(of: "min(x, threshold)", with: "max(x, threshold)") })
    }

    @Test("helpers list module, kind, signature, file and line; moving code keeps the hash")
    func manifestAndMoves() throws {
        let inputs = identity("bounded", ["Core": Self.core, "Pipeline": Self.pipeline])
        let clamp = try #require(inputs.helpers.first { $0.signature == "clamp(_:)" })
        #expect(clamp.module == "Core" && clamp.kind == .function && clamp.file == "Core/File.swift" && clamp.line == 15)
        let moved = identity("bounded", ["Core": "\n\n// moved down\n" + Self.core, "Pipeline": Self.pipeline])
        #expect(moved.hash == inputs.hash)
        #expect(moved.helpers.first { $0.signature == "clamp(_:)" }?.line == 18)
    }

    @Test("dependency versions enter the hash, and ignoringDependencies leaves one out")
    func dependencies() {
        let old = [PackageVersion(name: "swift-numerics", version: "1.0.2", revision: "aaa"), PackageVersion(name: "swift-log", version: "1.6.0", revision: "bbb")]
        let new = [PackageVersion(name: "swift-numerics", version: "1.0.3", revision: "ccc"), PackageVersion(name: "swift-log", version: "1.6.0", revision: "bbb")]
        let source = """
            @Cached func f(_ x: Int) -> Int { x }
            @Cached(ignoringDependencies: ["Swift-Numerics"]) func g(_ x: Int) -> Int { x }
            @Cached(ignoringDependencies: ["swift-nothing", name]) func h(_ x: Int) -> Int { x }
            """
        #expect(identity("f", ["Pipeline": source], packages: old).hash != identity("f", ["Pipeline": source], packages: new).hash)
        #expect(identity("g", ["Pipeline": source], packages: old).hash == identity("g", ["Pipeline": source], packages: new).hash)
        #expect(identity("g", ["Pipeline": source], packages: old).dependencies.map(\.name) == ["swift-log"])
        let h = identity("h", ["Pipeline": source], packages: old)
        #expect(h.unknownIgnoredDependencies == ["swift-nothing"])
        var index = CodeIndex()
        index.add(SourceSummarizer.summarize(source: source, module: "Pipeline", file: "Pipeline/File.swift"))
        #expect(index.cachedFunctions(in: "Pipeline").first { $0.qualifiedName == "h" }?.cached?.problems == ["ignoringDependencies: 'name' is not a string literal"])
    }

    @Test("a summary survives its cache's line form", arguments: [ReachTests.core, ReachTests.pipeline, "extension Dictionary<String,\n\tInt> { var x: Int { 1 } }"])
    func summaryText(source: String) throws {
        let summary = SourceSummarizer.summarize(source: source, module: "M\tod", file: "M/a\\b.swift")
        #expect(try #require(SummaryText.decode(SummaryText.encode(summary))) == summary)
        #expect(SummaryText.decode(["d\tbroken"]) == nil)
    }
}
