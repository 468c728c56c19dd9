/// What a declaration is, as identity hashing sees it.
public enum DeclarationKind: String, Hashable, Sendable, CaseIterable {
    /// A function or method (operators included).
    case function = "func"
    /// An initializer.
    case initializer = "init"
    /// A subscript.
    case subscriptMember = "subscript"
    /// A module-level or static variable or constant, or a property with accessors (computed,
    /// observed); a closure stored in a `let` is one of these.
    case property = "var"
    /// A struct, class, enum, actor, protocol or type alias, with its stored properties, their
    /// defaults, its cases and its nested declarations.
    case type = "type"
    /// An extension, with its conformances and members.
    case extensionBlock = "extension"
}

/// What `@Cached` says about identity, as the plugin reads it from the attribute.
public struct CachedAttribute: Hashable, Sendable {
    /// `allowMutableState: true`: no compile-time warning about mutable state.
    public var allowsMutableState = false
    /// `ignoringDependencies: [...]`: packages whose version does not enter the identity.
    public var ignoredDependencies: [String] = []
    /// Arguments the plugin cannot read (not literals): reported at compile time.
    public var problems: [String] = []

    /// An attribute with no identity arguments.
    public init(allowsMutableState: Bool = false, ignoredDependencies: [String] = [], problems: [String] = []) {
        self.allowsMutableState = allowsMutableState
        self.ignoredDependencies = ignoredDependencies
        self.problems = problems
    }
}

/// One declaration of the indexed code: a node of the reference graph.
///
/// Its identity is `module`, `kind`, `signature` and `ownHash`; `file` and `line` only say
/// where it is (moving code does not change an identity).
public struct Declaration: Hashable, Sendable {
    /// The module (target) it belongs to.
    public let module: String
    /// What it is.
    public let kind: DeclarationKind
    /// The name references spell (`step`, `Shape`, `init`); empty for extensions.
    public let name: String
    /// A readable, overload-distinct name: `Text.normalize(_:)`, `Shape.area`, `struct Shape`.
    public let signature: String
    /// The base name of the type it is a member of (`Inner` for `Outer.Inner`), if any.
    public let enclosingType: String?
    /// SHA-256 (hex) of its normalized source.
    public let ownHash: String
    /// Every name it mentions: identifiers, member names, type names, operators. Nothing is
    /// subtracted for shadowing, so an edge is never missed.
    public let references: Set<String>
    /// For functions: the names it reads that are not its own parameters or locals (what the
    /// mutable-state warning looks at, where a false alarm would be noise).
    public let unshadowedReferences: Set<String>
    /// The file, as shown to users (`Core/Text.swift`).
    public let file: String
    /// 1-based line of the declaration (after its doc comment).
    public let line: Int
    /// Its `@Cached` attribute, for cached functions.
    public let cached: CachedAttribute?
    /// `Type.name` for members, `name` otherwise (the signature without its labels): how the
    /// macro names a cached function.
    public let qualifiedName: String

    /// A declaration (the index builds these; tests and caches may too).
    public init(module: String, kind: DeclarationKind, name: String, signature: String, enclosingType: String?, ownHash: String,
                references: Set<String>, unshadowedReferences: Set<String> = [], file: String, line: Int, cached: CachedAttribute? = nil) {
        self.module = module
        self.kind = kind
        self.name = name
        self.signature = signature
        self.enclosingType = enclosingType
        self.ownHash = ownHash
        self.references = references
        self.unshadowedReferences = unshadowedReferences
        self.file = file
        self.line = line
        self.cached = cached
        self.qualifiedName = signature.firstIndex(of: "(").map { String(signature[..<$0]) } ?? signature
    }
}

/// A module-level `var`, or a `static`/`class var`: state that is not part of any cache key.
public struct MutableGlobal: Hashable, Sendable {
    /// `name`, or `Type.name` for static variables.
    public let qualifiedName: String
    /// The variable's name.
    public let name: String
    /// 1-based line of the declaration in its file.
    public let line: Int
    /// The file, as shown to users.
    public let file: String

    /// A mutable global.
    public init(qualifiedName: String, name: String, line: Int, file: String) {
        self.qualifiedName = qualifiedName
        self.name = name
        self.line = line
        self.file = file
    }
}

/// What one source file contributes to the index.
public struct FileSummary: Hashable, Sendable {
    /// Its declarations, in source order.
    public var declarations: [Declaration]
    /// Its mutable globals, in source order.
    public var mutableGlobals: [MutableGlobal]

    /// A summary.
    public init(declarations: [Declaration] = [], mutableGlobals: [MutableGlobal] = []) {
        self.declarations = declarations
        self.mutableGlobals = mutableGlobals
    }
}
