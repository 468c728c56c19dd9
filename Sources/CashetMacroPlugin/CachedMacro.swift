import CashetIdentity
import SwiftDiagnostics
import SwiftSyntax
import SwiftSyntaxBuilder
import SwiftSyntaxMacros

/// `@Cached`: generates `$name`, a `CachedFunction` whose identity is the function's name,
/// the SHA-256 of its normalized source, the manifest of the code and package versions it
/// reaches (from the CashetIdentityPlugin build-tool plugin) and an optional `version:`.
///
/// Free functions get a global `let $name`; functions in a type get `static let $name`.
/// Instance methods take the receiver as the first argument, so its value is part of the key.
public struct CachedMacro: PeerMacro {
    public static func expansion(
        of node: AttributeSyntax,
        providingPeersOf declaration: some DeclSyntaxProtocol,
        in context: some MacroExpansionContext
    ) throws -> [DeclSyntax] {
        guard let function = declaration.as(FunctionDeclSyntax.self) else {
            context.diagnose(Diagnostic(node: node, message: misuse(of: declaration)))
            return []
        }
        guard let plan = plan(function, in: context, attribute: node) else { return [] }
        return [plan.declaration(arguments: Arguments(node))]
    }

    /// What the declaration is, for the "not a function" message.
    private static func misuse(of declaration: some DeclSyntaxProtocol) -> CachedMacroDiagnostic {
        if let variable = declaration.as(VariableDeclSyntax.self) {
            if variable.bindings.contains(where: { $0.initializer?.value.is(ClosureExprSyntax.self) ?? false }) { return .closure }
            let name = variable.bindings.first?.pattern.trimmedDescription ?? "it"
            return .notAFunction(kind: "the property '\(name)'")
        }
        let kind = declaration.kind.syntaxNodeType
        return .notAFunction(kind: "a \(String(describing: kind).replacingSuffix("DeclSyntax", with: " declaration").lowercased())")
    }

    /// Checks the function and works out how to call it; nil after diagnosing a problem.
    private static func plan(_ function: FunctionDeclSyntax, in context: some MacroExpansionContext, attribute: AttributeSyntax) -> Plan? {
        let name = function.name.text
        func fail(_ message: CachedMacroDiagnostic, at node: some SyntaxProtocol) -> Plan? {
            context.diagnose(Diagnostic(node: node, message: message))
            return nil
        }
        if function.genericParameterClause != nil || function.genericWhereClause != nil {
            return fail(.genericFunction(name: name), at: function.name)
        }
        guard let result = function.signature.returnClause?.type, result.trimmedDescription != "Void", result.trimmedDescription != "()" else {
            return fail(.noResult(function: name), at: function.name)
        }
        if function.modifiers.contains(where: { $0.name.tokenKind == .keyword(.mutating) }) {
            return fail(.mutating(function: name), at: function.name)
        }
        var parameters: [(label: String?, type: String)] = []
        for parameter in function.signature.parameterClause.parameters {
            let display = (parameter.secondName ?? parameter.firstName).text
            if parameter.ellipsis != nil {
                return fail(.unsupportedParameter(function: name, parameter: display, reason: "variadic"), at: parameter)
            }
            if let attributed = parameter.type.as(AttributedTypeSyntax.self), attributed.specifiers.contains(where: { $0.trimmedDescription == "inout" }) {
                return fail(.unsupportedParameter(function: name, parameter: display, reason: "inout"), at: parameter)
            }
            if isFunctionType(parameter.type) {
                return fail(.unsupportedParameter(function: name, parameter: display, reason: "a function (not encodable)"), at: parameter)
            }
            let label = parameter.firstName.tokenKind == .wildcard ? nil : parameter.firstName.text
            parameters.append((label, parameter.type.trimmedDescription))
        }

        // The enclosing type, if any, from the lexical context.
        var typeName: String?
        for enclosing in context.lexicalContext {
            if let decl = enclosing.asProtocol(NamedDeclSyntax.self), let generic = enclosing.asProtocol(WithGenericParametersSyntax.self) {
                if generic.genericParameterClause != nil { return fail(.genericEnclosingType(type: decl.name.text), at: function.name) }
                if enclosing.is(ActorDeclSyntax.self), !isStatic(function) { return fail(.actorMethod(function: name, actor: decl.name.text), at: function.name) }
                typeName = decl.name.text
                break
            }
            if let extensionDecl = enclosing.as(ExtensionDeclSyntax.self) {
                typeName = extensionDecl.extendedType.trimmedDescription
                break
            }
        }
        let effects = function.signature.effectSpecifiers
        return Plan(
            name: name, qualifiedName: ([typeName].compactMap { $0 } + [name]).joined(separator: "."),
            typeName: typeName, isStatic: isStatic(function),
            parameters: parameters, result: result.trimmedDescription,
            isAsync: effects?.asyncSpecifier != nil, isThrowing: effects?.throwsClause != nil,
            sourceHash: SourceNormalizer.hash(function), source: function.trimmedDescription)
    }

    private static func isStatic(_ function: FunctionDeclSyntax) -> Bool {
        function.modifiers.contains { $0.name.tokenKind == .keyword(.static) || $0.name.tokenKind == .keyword(.class) }
    }

    private static func isFunctionType(_ type: TypeSyntax) -> Bool {
        if type.is(FunctionTypeSyntax.self) { return true }
        if let attributed = type.as(AttributedTypeSyntax.self) { return isFunctionType(attributed.baseType) }
        return false
    }

    /// The attribute's arguments, copied verbatim into the expansion.
    struct Arguments {
        var name: String?
        var version = "\"\""
        var tags = "[:]"
        var cache = "true"

        init(_ attribute: AttributeSyntax) {
            guard case .argumentList(let list) = attribute.arguments else { return }
            for argument in list {
                let value = argument.expression.trimmedDescription
                switch argument.label?.text {
                case "name": name = value
                case "version": version = value
                case "tags": tags = value
                case "cache": cache = value
                default: break
                }
            }
        }
    }

    /// Everything needed to write the peer.
    struct Plan {
        let name, qualifiedName: String
        let typeName: String?
        let isStatic: Bool
        let parameters: [(label: String?, type: String)]
        let result: String
        let isAsync, isThrowing: Bool
        let sourceHash, source: String

        func declaration(arguments: Arguments) -> DeclSyntax {
            // Instance methods: the receiver is the first argument (and part of the key).
            let receiver = (typeName != nil && !isStatic) ? typeName : nil
            var closureParameters: [String] = []
            var checks: [String] = []
            if let receiver {
                closureParameters.append("receiver: \(receiver)")
                checks.append("CashetMacros._requireCashetValue(\(receiver).self)")
            }
            var callArguments: [String] = []
            for (index, parameter) in parameters.enumerated() {
                closureParameters.append("p\(index): \(parameter.type)")
                checks.append("CashetMacros._requireCashetValue((\(parameter.type)).self)")
                callArguments.append((parameter.label.map { "\($0): " } ?? "") + "p\(index)")
            }
            checks.append("CashetMacros._requireCashetResult((\(result)).self)")
            let callee = receiver != nil ? "receiver.\(name)" : (typeName.map { "\($0).\(name)" } ?? name)
            let effects = (isThrowing ? "try " : "") + (isAsync ? "await " : "")
            let genericArguments = ([receiver].compactMap { $0 } + parameters.map(\.type) + [result]).joined(separator: ", ")
            let displayName = arguments.name ?? StringLiteralExprSyntax(content: qualifiedName).description
            let manifest = "__CashetIdentityPlugin.\(CodeIndex.helperSymbol(for: qualifiedName))"
            let binding = typeName == nil ? "let" : "static let"
            return """
                /// The cached form of `\(raw: name)`: pass it to `Client.submit`.
                \(raw: binding) $\(raw: name) = Cashet.CachedFunction<\(raw: genericArguments)>(
                    identity: Cashet.FunctionIdentity(
                        name: \(raw: displayName),
                        sourceHash: \(literal: sourceHash),
                        manifest: \(raw: manifest),
                        version: \(raw: arguments.version),
                        source: \(literal: source)
                    ),
                    tags: \(raw: arguments.tags),
                    cache: \(raw: arguments.cache)
                ) { (\(raw: closureParameters.joined(separator: ", "))) in
                    \(raw: checks.joined(separator: "\n    "))
                    return \(raw: effects)\(raw: callee)(\(raw: callArguments.joined(separator: ", ")))
                }
                """
        }
    }
}

private extension String {
    func replacingSuffix(_ suffix: String, with replacement: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) + replacement : self
    }
}
