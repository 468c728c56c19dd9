/// What a cached function *is*, for cache keys: a name for people and a hash for the key.
///
/// Without macros, identity is a name plus a version string you bump when the code changes.
/// The `@Cached` macro (a later issue) fills in the hash of the normalized source instead.
public struct FunctionIdentity: Hashable, Sendable {
    /// The function's name, as `cashet log --func` filters it.
    public let name: String
    /// The version string given by the caller (empty for source-derived identities).
    public let version: String
    /// The function's source text, when known (shown by `cashet show`).
    public let source: String?
    /// SHA-256 that enters every fingerprint of this function.
    public let hash: ContentHash

    /// An identity from a name and a version: bump `version` when the function's behaviour changes.
    public init(name: String, version: String = "") {
        self.name = name
        self.version = version
        self.source = nil
        self.hash = SHA256Hasher.hash(Array("cashet.named\0".utf8), Array(name.utf8), [0], Array(version.utf8))
    }

    /// An identity derived from source, as `@Cached` generates it: the hash covers the
    /// normalized source of the function, the hash of the same-module helpers it reaches, and
    /// `version`.
    public init(name: String, sourceHash: String, helpersHash: String, version: String, source: String) {
        self.name = name
        self.version = version
        self.source = source
        self.hash = SHA256Hasher.hash(Array("cashet.source\0".utf8), Array(sourceHash.utf8), [0], Array(helpersHash.utf8), [0], Array(version.utf8))
    }

    /// An identity whose hash was computed elsewhere.
    public init(name: String, hash: ContentHash, source: String?, version: String = "") {
        self.name = name
        self.version = version
        self.source = source
        self.hash = hash
    }
}

/// The definition of one task as a commit records it.
public struct TaskDefinition: Hashable, Sendable {
    /// The function's name.
    public var functionName: String
    /// The function's identity hash (the first half of the fingerprint).
    public var functionHash: ContentHash
    /// The function's version string (empty if none).
    public var functionVersion: String
    /// The source text, when the identity carried one. Stored once per function, not per commit.
    public var source: String?
    /// A readable rendering of the arguments (JSON-like), for `show` and `diff`.
    public var argumentsSnapshot: String
    /// False when the call was made with `cache: false`.
    public var cacheable: Bool

    /// Creates a task definition.
    public init(functionName: String, functionHash: ContentHash, functionVersion: String = "", source: String? = nil, argumentsSnapshot: String, cacheable: Bool = true) {
        self.functionName = functionName
        self.functionHash = functionHash
        self.functionVersion = functionVersion
        self.source = source
        self.argumentsSnapshot = argumentsSnapshot
        self.cacheable = cacheable
    }
}
