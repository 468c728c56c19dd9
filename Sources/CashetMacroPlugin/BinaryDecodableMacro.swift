import SwiftDiagnostics
import SwiftSyntax
import SwiftSyntaxBuilder
import SwiftSyntaxMacros

/// `@BinaryDecodable`: conforms a struct to `Cashet.BinaryDecodable` with an
/// `init(binaryFields:)` that reads the fields its synthesized `Decodable` conformance reads,
/// in the order the binary format stores them (their names' UTF-8 bytes).
///
/// It mirrors synthesis and nothing else: types whose coding the macro cannot see whole (custom
/// `CodingKeys`, a hand-written `init(from:)`, property wrappers, lazy properties) are refused
/// with an error rather than given a fast path that might read differently.
public struct BinaryDecodableMacro: ExtensionMacro {
    public static func expansion(
        of node: AttributeSyntax,
        attachedTo declaration: some DeclGroupSyntax,
        providingExtensionsOf type: some TypeSyntaxProtocol,
        conformingTo protocols: [TypeSyntax],
        in context: some MacroExpansionContext
    ) throws -> [ExtensionDeclSyntax] {
        guard let structure = declaration.as(StructDeclSyntax.self) else {
            context.diagnose(Diagnostic(node: node, message: BinaryDecodableDiagnostic.notAStruct))
            return []
        }
        guard let fields = decodedFields(of: structure, in: context) else { return [] }
        let access = structure.modifiers.first { ["public", "package", "open"].contains($0.name.text) }.map { "\($0.name.text == "open" ? "public" : $0.name.text) " } ?? ""
        let reads = fields
            .sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
            .map { "    self.\($0.property) = try fields.\($0.isOptional ? "nextIfPresent" : "next")(\(literal($0.key)))" }
            .joined(separator: "\n")
        // Empty when the type already declares the conformance itself.
        let conformance = protocols.isEmpty ? "" : ": Cashet.BinaryDecodable"
        let extensionDecl: DeclSyntax = """
            extension \(type.trimmed)\(raw: conformance) {
                /// Reads the fields in stored order; written by `@BinaryDecodable`.
                \(raw: access)init(binaryFields fields: inout Cashet.BinaryFields) throws {
            \(raw: reads.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
                }
            }
            """
        return [extensionDecl.cast(ExtensionDeclSyntax.self)]
    }

    /// A stored property the synthesized conformance decodes.
    struct Field {
        /// The property as written in `self.name` (backticks kept where the name needs them).
        let property: String
        /// The coding key: the name without backticks.
        let key: String
        /// Declared optional (`T?`, `T!`, `Optional<T>`): decoded with `decodeIfPresent`.
        let isOptional: Bool
    }

    /// The fields synthesis decodes, in declaration order; nil after diagnosing a declaration
    /// the macro cannot mirror.
    static func decodedFields(of structure: StructDeclSyntax, in context: some MacroExpansionContext) -> [Field]? {
        var fields: [Field] = []
        var refused = false
        func refuse(_ message: BinaryDecodableDiagnostic, at node: some SyntaxProtocol) {
            context.diagnose(Diagnostic(node: node, message: message))
            refused = true
        }
        for member in structure.memberBlock.members {
            let decl = member.decl
            if let nested = decl.as(EnumDeclSyntax.self), nested.name.text == "CodingKeys" {
                refuse(.customCodingKeys, at: nested.name)
            }
            if let initializer = decl.as(InitializerDeclSyntax.self), isInitFromDecoder(initializer) {
                refuse(.customInitFromDecoder, at: initializer.initKeyword)
            }
            guard let variable = decl.as(VariableDeclSyntax.self) else { continue }
            if variable.modifiers.contains(where: { ["static", "class"].contains($0.name.text) }) { continue }
            let isLet = variable.bindingSpecifier.tokenKind == .keyword(.let)
            // A type annotation covers the bindings before it without one (`var a, b: Int`).
            var typeForward: TypeSyntax?
            var bindingFields: [Field] = []
            for binding in variable.bindings.reversed() {
                if let annotation = binding.typeAnnotation?.type { typeForward = annotation }
                guard let identifier = binding.pattern.as(IdentifierPatternSyntax.self) else {
                    refuse(.unsupportedProperty(binding.pattern.trimmedDescription, reason: "is not a single name"), at: binding.pattern)
                    continue
                }
                let name = identifier.identifier.text
                if let accessors = binding.accessorBlock, isComputed(accessors) { continue }
                if isLet, binding.initializer != nil { continue }  // synthesis neither decodes nor encodes it
                if let attribute = variable.attributes.first {
                    refuse(.unsupportedProperty(name, reason: "has the attribute '\(attribute.trimmedDescription)', whose coding the macro cannot see"), at: attribute)
                    continue
                }
                if variable.modifiers.contains(where: { $0.name.text == "lazy" }) {
                    refuse(.unsupportedProperty(name, reason: "is lazy"), at: binding.pattern)
                    continue
                }
                let key = name.hasPrefix("`") ? String(name.dropFirst().dropLast()) : name
                bindingFields.append(Field(property: name, key: key, isOptional: typeForward.map(isOptional) ?? false))
            }
            fields += bindingFields.reversed()
        }
        return refused ? nil : fields
    }

    private static func isInitFromDecoder(_ initializer: InitializerDeclSyntax) -> Bool {
        let parameters = initializer.signature.parameterClause.parameters
        return parameters.count == 1 && parameters.first?.firstName.text == "from"
    }

    /// A `get` (or bare getter body) makes a computed property; `willSet`/`didSet` do not.
    private static func isComputed(_ accessors: AccessorBlockSyntax) -> Bool {
        switch accessors.accessors {
        case .getter: true
        case .accessors(let list): list.contains { !["willSet", "didSet"].contains($0.accessorSpecifier.text) }
        }
    }

    private static func isOptional(_ type: TypeSyntax) -> Bool {
        if type.is(OptionalTypeSyntax.self) || type.is(ImplicitlyUnwrappedOptionalTypeSyntax.self) { return true }
        if let identifier = type.as(IdentifierTypeSyntax.self), identifier.name.text == "Optional", identifier.genericArgumentClause != nil { return true }
        if let member = type.as(MemberTypeSyntax.self), member.name.text == "Optional", member.baseType.trimmedDescription == "Swift" { return true }
        return false
    }

    /// The key as a string literal (raw, so any name spells itself).
    private static func literal(_ key: String) -> String { "#\"\(key)\"#" }
}

/// Compile-time errors of `@BinaryDecodable`, each naming what is wrong and what to do instead.
enum BinaryDecodableDiagnostic: DiagnosticMessage {
    case notAStruct
    case customCodingKeys
    case customInitFromDecoder
    case unsupportedProperty(String, reason: String)

    var message: String {
        switch self {
        case .notAStruct:
            "@BinaryDecodable can only be applied to a struct; other types decode through Decodable as they are"
        case .customCodingKeys:
            "@BinaryDecodable cannot mirror custom CodingKeys; remove @BinaryDecodable or the CodingKeys enum"
        case .customInitFromDecoder:
            "@BinaryDecodable cannot mirror a hand-written init(from:); remove @BinaryDecodable or the initializer"
        case .unsupportedProperty(let name, let reason):
            "@BinaryDecodable cannot mirror the property '\(name)', which \(reason); remove @BinaryDecodable from this type"
        }
    }

    var diagnosticID: MessageID { MessageID(domain: "CashetMacros", id: "BinaryDecodable.\(self)") }
    var severity: DiagnosticSeverity { .error }
}
