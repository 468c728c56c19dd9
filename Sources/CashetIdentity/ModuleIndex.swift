import SwiftParser
import SwiftSyntax

/// One function declared in a module, as identity hashing sees it.
public struct FunctionSummary: Hashable, Sendable {
    /// `name` for free functions, `Type.name` inside types and extensions.
    public let qualifiedName: String
    /// The base name (what call sites spell).
    public let name: String
    /// SHA-256 (hex) of the function's normalized source.
    public let ownHash: String
    /// Every identifier its body refers to (calls, function references, members).
    public let references: Set<String>
    /// Whether it carries `@Cached`.
    public let isCached: Bool
}

/// The functions of one module and the name-based call graph between them.
///
/// Call edges are by base name: a reference to `helper` links to every function named
/// `helper` in the module (all overloads, any type), which over-approximates and never
/// misses a same-module helper. Names that match no function of the module (standard
/// library, Foundation, other packages, local variables) are ignored.
public struct ModuleIndex: Sendable {
    /// Every function found, in source order.
    public private(set) var functions: [FunctionSummary] = []

    /// An empty index.
    public init() {}

    /// An index over several source files.
    public init(sources: [String]) {
        for source in sources { add(source: source) }
    }

    /// Adds the functions of one source file.
    public mutating func add(source: String) {
        let collector = FunctionCollector(viewMode: .sourceAccurate)
        collector.walk(Parser.parse(source: source))
        functions += collector.found
    }

    /// The functions reachable from `qualifiedName` through references (not including the
    /// function itself), sorted. Cycles and recursion are fine: this is plain reachability.
    public func helpers(of qualifiedName: String) -> [FunctionSummary] {
        let byName = Dictionary(grouping: functions, by: \.name)
        let start = functions.filter { $0.qualifiedName == qualifiedName }
        var seen = Set(start)
        var queue = start
        var reached: [FunctionSummary] = []
        while let next = queue.popLast() {
            for name in next.references {
                for callee in byName[name] ?? [] where !seen.contains(callee) {
                    seen.insert(callee)
                    reached.append(callee)
                    queue.append(callee)
                }
            }
        }
        return reached.sorted { ($0.qualifiedName, $0.ownHash) < ($1.qualifiedName, $1.ownHash) }
    }

    /// SHA-256 (hex) over the helpers' names and normalized-source hashes: changes when any
    /// helper reachable from the function changes, and only then.
    public func helpersHash(of qualifiedName: String) -> String {
        SHA256.hex(helpers(of: qualifiedName).map { "\($0.qualifiedName) \($0.ownHash)\n" }.joined())
    }

    /// The identifier under which the build-tool plugin publishes a function's helper hash:
    /// `Type.name` → `Type__name`.
    public static func helperSymbol(for qualifiedName: String) -> String {
        qualifiedName.split(separator: ".", omittingEmptySubsequences: false).joined(separator: "__")
    }
}

/// Walks a file, recording functions with their enclosing type names.
private final class FunctionCollector: SyntaxVisitor {
    var found: [FunctionSummary] = []
    private var typeNames: [String] = []

    override func visit(_ node: StructDeclSyntax) -> SyntaxVisitorContinueKind { enter(node.name.text) }
    override func visitPost(_ node: StructDeclSyntax) { typeNames.removeLast() }
    override func visit(_ node: ClassDeclSyntax) -> SyntaxVisitorContinueKind { enter(node.name.text) }
    override func visitPost(_ node: ClassDeclSyntax) { typeNames.removeLast() }
    override func visit(_ node: EnumDeclSyntax) -> SyntaxVisitorContinueKind { enter(node.name.text) }
    override func visitPost(_ node: EnumDeclSyntax) { typeNames.removeLast() }
    override func visit(_ node: ActorDeclSyntax) -> SyntaxVisitorContinueKind { enter(node.name.text) }
    override func visitPost(_ node: ActorDeclSyntax) { typeNames.removeLast() }
    override func visit(_ node: ExtensionDeclSyntax) -> SyntaxVisitorContinueKind { enter(node.extendedType.trimmedDescription) }
    override func visitPost(_ node: ExtensionDeclSyntax) { typeNames.removeLast() }

    private func enter(_ name: String) -> SyntaxVisitorContinueKind {
        typeNames.append(name)
        return .visitChildren
    }

    override func visit(_ node: FunctionDeclSyntax) -> SyntaxVisitorContinueKind {
        let name = node.name.text
        let references = ReferenceCollector.references(in: node.body)
        let isCached = node.attributes.contains { element in
            element.as(AttributeSyntax.self).map(SourceNormalizer.isCachedAttribute) ?? false
        }
        found.append(FunctionSummary(
            qualifiedName: (typeNames + [name]).joined(separator: "."), name: name,
            ownHash: SourceNormalizer.hash(node), references: references, isCached: isCached))
        // Nested functions are part of this body's normalized source already.
        return .skipChildren
    }
}

/// Collects the base names of every declaration reference in a body.
private final class ReferenceCollector: SyntaxVisitor {
    var names: Set<String> = []

    static func references(in body: CodeBlockSyntax?) -> Set<String> {
        guard let body else { return [] }
        let collector = ReferenceCollector(viewMode: .sourceAccurate)
        collector.walk(body)
        return collector.names
    }

    override func visit(_ node: DeclReferenceExprSyntax) -> SyntaxVisitorContinueKind {
        names.insert(node.baseName.text)
        return .visitChildren
    }
}
