import SwiftParser
import SwiftSyntax

/// Parses one file into the declarations and mutable globals identity hashing needs.
public enum SourceSummarizer {
    /// The summary of `source`, whose declarations belong to `module` and are shown as `file`.
    public static func summarize(source: String, module: String, file: String) -> FileSummary {
        let tree = Parser.parse(source: source)
        let collector = DeclarationCollector(module: module, file: file, converter: SourceLocationConverter(fileName: file, tree: tree))
        collector.walk(tree)
        return FileSummary(declarations: collector.declarations, mutableGlobals: collector.globals)
    }
}

/// Walks a file, recording every declaration that can change what code computes.
///
/// Types are recorded whole (stored properties, defaults, cases, members) and their members
/// again on their own, so a reference to a member's name (`shape.area`) reaches the member
/// without naming the type. Function bodies are not entered: nested functions and local types
/// are part of the enclosing function's source.
private final class DeclarationCollector: SyntaxVisitor {
    var declarations: [Declaration] = []
    var globals: [MutableGlobal] = []
    /// The qualified names of the enclosing types (`Outer`, `Outer.Inner`).
    private var scopes: [String] = []
    private let module: String
    private let file: String
    private let converter: SourceLocationConverter

    init(module: String, file: String, converter: SourceLocationConverter) {
        self.module = module
        self.file = file
        self.converter = converter
        super.init(viewMode: .sourceAccurate)
    }

    // MARK: Types and extensions

    override func visit(_ node: StructDeclSyntax) -> SyntaxVisitorContinueKind { enterType(node, named: node.name.text) }
    override func visitPost(_ node: StructDeclSyntax) { scopes.removeLast() }
    override func visit(_ node: ClassDeclSyntax) -> SyntaxVisitorContinueKind { enterType(node, named: node.name.text) }
    override func visitPost(_ node: ClassDeclSyntax) { scopes.removeLast() }
    override func visit(_ node: EnumDeclSyntax) -> SyntaxVisitorContinueKind { enterType(node, named: node.name.text) }
    override func visitPost(_ node: EnumDeclSyntax) { scopes.removeLast() }
    override func visit(_ node: ActorDeclSyntax) -> SyntaxVisitorContinueKind { enterType(node, named: node.name.text) }
    override func visitPost(_ node: ActorDeclSyntax) { scopes.removeLast() }
    override func visit(_ node: ProtocolDeclSyntax) -> SyntaxVisitorContinueKind { enterType(node, named: node.name.text) }
    override func visitPost(_ node: ProtocolDeclSyntax) { scopes.removeLast() }

    override func visit(_ node: TypeAliasDeclSyntax) -> SyntaxVisitorContinueKind {
        record(node, kind: .type, name: node.name.text, signature: qualified(node.name.text))
        return .skipChildren
    }

    override func visit(_ node: ExtensionDeclSyntax) -> SyntaxVisitorContinueKind {
        // One line, whatever the source's layout: signatures are fields of line-based formats.
        let extended = node.extendedType.trimmedDescription.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        let base = Self.baseName(of: extended)
        // An extension is a member of the type it extends: reaching the type reaches it.
        record(node, kind: .extensionBlock, name: "", signature: extended, enclosingType: base)
        scopes.append(extended)
        return .visitChildren
    }
    override func visitPost(_ node: ExtensionDeclSyntax) { scopes.removeLast() }

    private func enterType(_ node: some DeclSyntaxProtocol, named name: String) -> SyntaxVisitorContinueKind {
        record(node, kind: .type, name: name, signature: qualified(name))
        scopes.append(qualified(name))
        return .visitChildren
    }

    // MARK: Members and globals

    override func visit(_ node: FunctionDeclSyntax) -> SyntaxVisitorContinueKind {
        let name = node.name.text
        let parameters = node.signature.parameterClause.parameters
        let labels = parameters.map { "\($0.firstName.text):" }.joined()
        let cached = node.attributes.compactMap { $0.as(AttributeSyntax.self) }.first(where: SourceNormalizer.isCachedAttribute).map(Self.cachedAttribute)
        record(node, kind: .function, name: name, signature: qualified(name) + "(\(labels))", cached: cached,
               parameters: parameters.map { ($0.secondName ?? $0.firstName).text })
        return .skipChildren
    }

    override func visit(_ node: InitializerDeclSyntax) -> SyntaxVisitorContinueKind {
        let parameters = node.signature.parameterClause.parameters
        record(node, kind: .initializer, name: "init", signature: qualified("init") + "(\(parameters.map { "\($0.firstName.text):" }.joined()))",
               parameters: parameters.map { ($0.secondName ?? $0.firstName).text })
        return .skipChildren
    }

    override func visit(_ node: DeinitializerDeclSyntax) -> SyntaxVisitorContinueKind {
        record(node, kind: .function, name: "deinit", signature: qualified("deinit"))
        return .skipChildren
    }

    override func visit(_ node: SubscriptDeclSyntax) -> SyntaxVisitorContinueKind {
        let parameters = node.parameterClause.parameters
        record(node, kind: .subscriptMember, name: "subscript", signature: qualified("subscript") + "(\(parameters.map { "\($0.firstName.text):" }.joined()))",
               parameters: parameters.map { ($0.secondName ?? $0.firstName).text })
        return .skipChildren
    }

    override func visit(_ node: VariableDeclSyntax) -> SyntaxVisitorContinueKind {
        let isStatic = node.modifiers.contains { $0.name.tokenKind == .keyword(.static) || $0.name.tokenKind == .keyword(.class) }
        let atModuleLevel = scopes.isEmpty
        for binding in node.bindings {
            guard let name = binding.pattern.as(IdentifierPatternSyntax.self)?.identifier.text else { continue }
            // Instance stored properties are part of their type's declaration (defaults
            // included); everything else that holds code or a value is a node of its own.
            if atModuleLevel || isStatic || binding.accessorBlock != nil {
                record(node, kind: .property, name: name, signature: qualified(name))
            }
            // Instance properties belong to the receiver, which is an argument.
            if node.bindingSpecifier.tokenKind == .keyword(.var), atModuleLevel || isStatic {
                globals.append(MutableGlobal(qualifiedName: qualified(name), name: name, line: line(of: node), file: file))
            }
        }
        return .skipChildren
    }

    // MARK: Recording

    private func record(_ node: some SyntaxProtocol, kind: DeclarationKind, name: String, signature: String,
                        enclosingType: String? = nil, cached: CachedAttribute? = nil, parameters: [String] = []) {
        let (names, declared) = ReferenceCollector.collect(in: node)
        // Types and extensions hold no code of their own: their members are nodes too.
        let holdsCode = kind != .type && kind != .extensionBlock
        declarations.append(Declaration(
            module: module, kind: kind, name: name, signature: signature,
            enclosingType: enclosingType ?? scopes.last.map(Self.baseName), ownHash: SourceNormalizer.hash(node),
            references: names, unshadowedReferences: holdsCode ? names.subtracting(declared).subtracting(parameters) : [],
            file: file, line: line(of: node), cached: cached))
    }

    private func qualified(_ name: String) -> String {
        scopes.last.map { "\($0).\(name)" } ?? name
    }

    private func line(of node: some SyntaxProtocol) -> Int {
        node.startLocation(converter: converter, afterLeadingTrivia: true).line
    }

    /// `Outer.Inner<T>` → `Inner`: members are found by the base name of their type.
    static func baseName(of type: String) -> String {
        let unqualified = type.split(separator: ".").last.map(String.init) ?? type
        return String(unqualified.prefix { $0 != "<" && $0 != " " })
    }

    /// Reads `allowMutableState:` and `ignoringDependencies:`; what is not a literal is a problem.
    static func cachedAttribute(_ attribute: AttributeSyntax) -> CachedAttribute {
        var result = CachedAttribute()
        guard case .argumentList(let list) = attribute.arguments else { return result }
        for argument in list {
            switch argument.label?.text {
            case "allowMutableState":
                result.allowsMutableState = argument.expression.trimmedDescription == "true"
            case "ignoringDependencies":
                guard let array = argument.expression.as(ArrayExprSyntax.self) else {
                    result.problems.append("ignoringDependencies: must be an array literal of package names")
                    continue
                }
                for element in array.elements {
                    guard let literal = element.expression.as(StringLiteralExprSyntax.self), let name = literal.representedLiteralValue else {
                        result.problems.append("ignoringDependencies: '\(element.expression.trimmedDescription)' is not a string literal")
                        continue
                    }
                    guard !name.isEmpty, !name.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 }) else {
                        result.problems.append("ignoringDependencies: '\(element.expression.trimmedDescription)' is not a package name")
                        continue
                    }
                    result.ignoredDependencies.append(name)
                }
            default: break
            }
        }
        return result
    }
}

/// Collects the names a declaration mentions.
private final class ReferenceCollector: SyntaxVisitor {
    var names: Set<String> = []
    var declared: Set<String> = []

    /// Every name in `node` (over-approximate on purpose: identity never misses an edge), and
    /// the names it declares itself (locals, closure parameters), which shadow globals.
    static func collect(in node: some SyntaxProtocol) -> (names: Set<String>, declared: Set<String>) {
        let collector = ReferenceCollector(viewMode: .sourceAccurate)
        collector.walk(node)
        return (collector.names, collector.declared)
    }

    // Names used: identifiers and members, type names, operators.
    override func visit(_ node: DeclReferenceExprSyntax) -> SyntaxVisitorContinueKind { use(node.baseName) }
    override func visit(_ node: IdentifierTypeSyntax) -> SyntaxVisitorContinueKind { use(node.name) }
    override func visit(_ node: MemberTypeSyntax) -> SyntaxVisitorContinueKind { use(node.name) }
    override func visit(_ node: BinaryOperatorExprSyntax) -> SyntaxVisitorContinueKind { use(node.operator) }
    override func visit(_ node: PrefixOperatorExprSyntax) -> SyntaxVisitorContinueKind { use(node.operator) }
    override func visit(_ node: PostfixOperatorExprSyntax) -> SyntaxVisitorContinueKind { use(node.operator) }

    // Names declared: locals and closure parameters.
    override func visit(_ node: IdentifierPatternSyntax) -> SyntaxVisitorContinueKind { declare(node.identifier) }
    override func visit(_ node: ClosureShorthandParameterSyntax) -> SyntaxVisitorContinueKind { declare(node.name) }
    override func visit(_ node: ClosureParameterSyntax) -> SyntaxVisitorContinueKind { declare(node.secondName ?? node.firstName) }

    private func use(_ token: TokenSyntax) -> SyntaxVisitorContinueKind {
        names.insert(token.text)
        return .visitChildren
    }

    private func declare(_ token: TokenSyntax) -> SyntaxVisitorContinueKind {
        declared.insert(token.text)
        return .visitChildren
    }
}
