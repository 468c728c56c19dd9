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
    /// Whether its `@Cached` says `allowMutableState: true` (no mutable-state warning).
    public let allowsMutableState: Bool
}

/// A module-level `var`, or a `static`/`class var`: state that is not part of any cache key.
public struct MutableGlobal: Hashable, Sendable {
    /// `name`, or `Type.name` for static variables.
    public let qualifiedName: String
    /// The variable's name.
    public let name: String
    /// 1-based line of the declaration in its file.
    public let line: Int
    /// The file, as given to `add(source:file:)`.
    public let file: String
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
    /// Every module-level and static mutable variable found.
    public private(set) var mutableGlobals: [MutableGlobal] = []
    /// Call edges resolve by base name: kept up to date by `add`, not rebuilt per query.
    private var functionsByName: [String: [FunctionSummary]] = [:]
    private var globalsByName: [String: [MutableGlobal]] = [:]

    /// An empty index.
    public init() {}

    /// An index over several source files.
    public init(sources: [String]) {
        for source in sources { add(source: source) }
    }

    /// Adds the functions and mutable globals of one source file.
    public mutating func add(source: String, file: String = "<source>") {
        let tree = Parser.parse(source: source)
        let collector = FunctionCollector(file: file, converter: SourceLocationConverter(fileName: file, tree: tree))
        collector.walk(tree)
        functions += collector.found
        mutableGlobals += collector.globals
        for function in collector.found { functionsByName[function.name, default: []].append(function) }
        for global in collector.globals { globalsByName[global.name, default: []].append(global) }
    }

    /// Mutable globals that `qualifiedName` or any helper it reaches refers to (by name, minus
    /// names the referring function declares itself), sorted. Their values are not in the key.
    public func mutableState(readBy qualifiedName: String) -> [MutableGlobal] {
        let readers = functions.filter { $0.qualifiedName == qualifiedName } + helpers(of: qualifiedName)
        var found = Set<MutableGlobal>()
        for function in readers {
            for name in function.references { found.formUnion(globalsByName[name] ?? []) }
        }
        return found.sorted { ($0.file, $0.line) < ($1.file, $1.line) }
    }

    /// The functions reachable from `qualifiedName` through references (not including the
    /// function itself), sorted. Cycles and recursion are fine: this is plain reachability.
    public func helpers(of qualifiedName: String) -> [FunctionSummary] {
        let start = functions.filter { $0.qualifiedName == qualifiedName }
        var seen = Set(start)
        var queue = start
        var reached: [FunctionSummary] = []
        while let next = queue.popLast() {
            for name in next.references {
                for callee in functionsByName[name] ?? [] where !seen.contains(callee) {
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

/// Walks a file, recording functions (with their enclosing type names) and mutable globals.
private final class FunctionCollector: SyntaxVisitor {
    var found: [FunctionSummary] = []
    var globals: [MutableGlobal] = []
    private var typeNames: [String] = []
    private let file: String
    private let converter: SourceLocationConverter

    init(file: String, converter: SourceLocationConverter) {
        self.file = file
        self.converter = converter
        super.init(viewMode: .sourceAccurate)
    }

    override func visit(_ node: VariableDeclSyntax) -> SyntaxVisitorContinueKind {
        let isStatic = node.modifiers.contains { $0.name.tokenKind == .keyword(.static) || $0.name.tokenKind == .keyword(.class) }
        // Instance properties belong to the receiver, which is an argument; locals are never
        // visited (function bodies are skipped).
        guard node.bindingSpecifier.tokenKind == .keyword(.var), typeNames.isEmpty || isStatic else { return .skipChildren }
        for binding in node.bindings {
            guard let name = binding.pattern.as(IdentifierPatternSyntax.self)?.identifier.text else { continue }
            globals.append(MutableGlobal(qualifiedName: (typeNames + [name]).joined(separator: "."), name: name,
                                         line: node.startLocation(converter: converter).line, file: file))
        }
        return .skipChildren
    }

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
        let cached = node.attributes.compactMap { $0.as(AttributeSyntax.self) }.first(where: SourceNormalizer.isCachedAttribute)
        let allowsMutableState = cached.map { attribute in
            guard case .argumentList(let list) = attribute.arguments else { return false }
            return list.contains { $0.label?.text == "allowMutableState" && $0.expression.trimmedDescription == "true" }
        } ?? false
        let parameters = Set(node.signature.parameterClause.parameters.map { ($0.secondName ?? $0.firstName).text })
        found.append(FunctionSummary(
            qualifiedName: (typeNames + [name]).joined(separator: "."), name: name,
            ownHash: SourceNormalizer.hash(node), references: ReferenceCollector.references(in: node.body, excluding: parameters),
            isCached: cached != nil, allowsMutableState: allowsMutableState))
        // Nested functions are part of this body's normalized source already.
        return .skipChildren
    }
}

/// Collects the base names of every declaration reference in a body, minus the names the body
/// declares itself (parameters, local bindings, closure parameters), which shadow globals.
private final class ReferenceCollector: SyntaxVisitor {
    var names: Set<String> = []
    var declared: Set<String> = []

    static func references(in body: CodeBlockSyntax?, excluding parameters: Set<String>) -> Set<String> {
        guard let body else { return [] }
        let collector = ReferenceCollector(viewMode: .sourceAccurate)
        collector.walk(body)
        return collector.names.subtracting(collector.declared.union(parameters))
    }

    override func visit(_ node: DeclReferenceExprSyntax) -> SyntaxVisitorContinueKind {
        names.insert(node.baseName.text)
        return .visitChildren
    }

    override func visit(_ node: IdentifierPatternSyntax) -> SyntaxVisitorContinueKind {
        declared.insert(node.identifier.text)
        return .visitChildren
    }

    override func visit(_ node: ClosureShorthandParameterSyntax) -> SyntaxVisitorContinueKind {
        declared.insert(node.name.text)
        return .visitChildren
    }

    override func visit(_ node: ClosureParameterSyntax) -> SyntaxVisitorContinueKind {
        declared.insert((node.secondName ?? node.firstName).text)
        return .visitChildren
    }
}
