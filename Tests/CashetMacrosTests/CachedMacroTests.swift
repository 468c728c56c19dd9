import CashetIdentity
import CashetMacroPlugin
import SwiftSyntaxMacroExpansion
import SwiftSyntaxMacrosGenericTestSupport
import Testing

private let macros: [String: MacroSpec] = ["Cached": MacroSpec(type: CachedMacro.self)]

/// `expect(_:expandsTo:diagnostics:macros:)` with this file's macros.
private func expect(_ source: String, expandsTo expanded: String, diagnostics: [DiagnosticSpec] = [], sourceLocation: SourceLocation = #_sourceLocation) {
    expect(source, expandsTo: expanded, diagnostics: diagnostics, macros: macros, sourceLocation: sourceLocation)
}

@Suite("@Cached expansion")
struct CachedMacroTests {
    @Test("a free function gets a global $name with its name, source hash, helpers and source")
    func freeFunction() {
        let function = "func scale(_ data: [Double], by factor: Double) async throws -> [Double] { data.map { $0 * factor } }"
        let hash = SourceNormalizer.normalize(source: function)
        expect(
            """
            @Cached(version: "2", tags: ["team": "ml"])
            \(function)
            """,
            expandsTo: """
            \(function)

            /// The cached form of `scale`: pass it to `Client.submit`.
            let $scale = Cashet.CachedFunction<[Double], Double, [Double]>(
                identity: Cashet.FunctionIdentity(
                    name: "scale",
                    sourceHash: "\(SHA256.hex(hash))",
                    manifest: __CashetIdentityPlugin.scale,
                    version: "2",
                    source: #"@Cached(version: "2", tags: ["team": "ml"])\\#n\(function)"#
                ),
                tags: ["team": "ml"],
                cache: true
            ) { (p0: [Double], p1: Double) in
                CashetMacros._requireCashetValue(([Double]).self)
                CashetMacros._requireCashetValue((Double).self)
                CashetMacros._requireCashetResult(([Double]).self)
                return try await scale(p0, by: p1)
            }
            """)
    }

    @Test("a static method gets static let $name and calls through its type")
    func staticMethod() {
        let function = "static func area(_ side: Int) -> Int { side * side }"
        expect(
            """
            enum Geometry {
                @Cached
                \(function)
            }
            """,
            expandsTo: """
            enum Geometry {
                \(function)

                /// The cached form of `area`: pass it to `Client.submit`.
                static let $area = Cashet.CachedFunction<Int, Int>(
                    identity: Cashet.FunctionIdentity(
                        name: "Geometry.area",
                        sourceHash: "\(SHA256.hex(SourceNormalizer.normalize(source: function)))",
                        manifest: __CashetIdentityPlugin.Geometry__area,
                        version: "",
                        source: "@Cached\\n    \(function)"
                    ),
                    tags: [:],
                    cache: true
                ) { (p0: Int) in
                    CashetMacros._requireCashetValue((Int).self)
                    CashetMacros._requireCashetResult((Int).self)
                    return Geometry.area(p0)
                }
            }
            """)
    }

    @Test("an instance method takes its receiver as the first argument")
    func instanceMethod() {
        let function = "func scaled(by factor: Double) -> Double { value * factor }"
        expect(
            """
            extension Meter {
                @Cached(name: "meter.scaled")
                \(function)
            }
            """,
            expandsTo: """
            extension Meter {
                \(function)

                /// The cached form of `scaled`: pass it to `Client.submit`.
                static let $scaled = Cashet.CachedFunction<Meter, Double, Double>(
                    identity: Cashet.FunctionIdentity(
                        name: "meter.scaled",
                        sourceHash: "\(SHA256.hex(SourceNormalizer.normalize(source: function)))",
                        manifest: __CashetIdentityPlugin.Meter__scaled,
                        version: "",
                        source: #"@Cached(name: "meter.scaled")\\#n    \(function)"#
                    ),
                    tags: [:],
                    cache: true
                ) { (receiver: Meter, p0: Double) in
                    CashetMacros._requireCashetValue(Meter.self)
                    CashetMacros._requireCashetValue((Double).self)
                    CashetMacros._requireCashetResult((Double).self)
                    return receiver.scaled(by: p0)
                }
            }
            """)
    }

    @Test("misuse is a compile-time error that names the problem", arguments: [
        ("@Cached var total = 0", "var total = 0", "@Cached can only be applied to a function declaration, not to the property 'total'; put it on a 'func'", 1),
        ("@Cached let square = { (x: Int) in x * x }", "let square = { (x: Int) in x * x }", "@Cached cannot be applied to a closure: a closure has no source identity of its own; declare it as a 'func' and put @Cached on that", 1),
        ("@Cached func first<T: Codable>(_ items: [T]) -> T { items[0] }", "func first<T: Codable>(_ items: [T]) -> T { items[0] }", "@Cached cannot support the generic function 'first': a cached function needs concrete parameter and result types; write a non-generic wrapper for each type you cache", 14),
        ("@Cached func apply(_ f: (Int) -> Int) -> Int { f(1) }", "func apply(_ f: (Int) -> Int) -> Int { f(1) }", "@Cached function 'apply' has parameter 'f' that is a function (not encodable); arguments must be encodable values (CashetValue) so they can be hashed", 20),
        ("@Cached func bump(_ x: inout Int) -> Int { x += 1; return x }", "func bump(_ x: inout Int) -> Int { x += 1; return x }", "@Cached function 'bump' has parameter 'x' that is inout; arguments must be encodable values (CashetValue) so they can be hashed", 19),
        ("@Cached func log(_ message: String) { print(message) }", "func log(_ message: String) { print(message) }", "@Cached function 'log' returns nothing; a cached function must return an encodable (Codable & Sendable) result", 14),
        ("@Cached struct Config {}", "struct Config {}", "@Cached can only be applied to a function declaration, not to a struct declaration; put it on a 'func'", 1),
    ])
    func misuse(source: String, remaining: String, message: String, column: Int) {
        // The error points at the declaration, the function's name or the offending parameter.
        expect(source, expandsTo: remaining, diagnostics: [DiagnosticSpec(message: message, line: 1, column: column)])
    }

    @Test("misuse inside types: mutating methods, generic types, actors")
    func misuseInTypes() {
        expect(
            "struct Counter { @Cached mutating func next() -> Int { 1 } }",
            expandsTo: "struct Counter { mutating func next() -> Int { 1 } \n}",
            diagnostics: [DiagnosticSpec(message: "@Cached cannot be applied to the mutating method 'next': its result would depend on state it also changes", line: 1, column: 40)])
        expect(
            "struct Box<T> { @Cached static func make() -> Int { 1 } }",
            expandsTo: "struct Box<T> { static func make() -> Int { 1 } \n}",
            diagnostics: [DiagnosticSpec(message: "@Cached cannot be used inside the generic type 'Box': the cached peer needs a concrete type; move the function to a non-generic type or to file scope", line: 1, column: 37)])
        expect(
            "actor Bank { @Cached func balance() -> Int { 1 } }",
            expandsTo: "actor Bank { func balance() -> Int { 1 } \n}",
            diagnostics: [DiagnosticSpec(message: "@Cached cannot be applied to 'balance' in actor 'Bank': actor state is not part of the cache key; use a static method or a free function", line: 1, column: 27)])
    }
}
