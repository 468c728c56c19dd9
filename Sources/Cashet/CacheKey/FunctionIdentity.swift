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
    /// What went into the identity besides the source, for source-derived identities built by
    /// the plugin (shown by `cashet show`, compared by `cashet diff`).
    public let manifest: IdentityManifest?

    /// An identity from a name and a version: bump `version` when the function's behaviour changes.
    public init(name: String, version: String = "") {
        self.name = name
        self.version = version
        self.source = nil
        self.manifest = nil
        self.hash = SHA256Hasher.hash(Array("cashet.named\0".utf8), Array(name.utf8), [0], Array(version.utf8))
    }

    /// An identity derived from source, as `@Cached` generates it: the hash covers the
    /// normalized source of the function, the hash of the same-module helpers it reaches, and
    /// `version`.
    public init(name: String, sourceHash: String, helpersHash: String, version: String, source: String) {
        self.init(name: name, sourceHash: sourceHash, helpersHash: helpersHash, manifest: nil, version: version, source: source)
    }

    /// An identity derived from source with what the build-tool plugin found it reaches, as
    /// `@Cached` generates it: the hash covers the normalized source, `manifest.hash` (the
    /// helpers' and dependencies' hashes) and `version`.
    public init(name: String, sourceHash: String, manifest: IdentityManifest, version: String, source: String) {
        self.init(name: name, sourceHash: sourceHash, helpersHash: manifest.hash, manifest: manifest, version: version, source: source)
    }

    private init(name: String, sourceHash: String, helpersHash: String, manifest: IdentityManifest?, version: String, source: String) {
        self.name = name
        self.version = version
        self.source = source
        self.manifest = manifest
        self.hash = SHA256Hasher.hash(Array("cashet.source\0".utf8), Array(sourceHash.utf8), [0], Array(helpersHash.utf8), [0], Array(version.utf8))
    }

    /// An identity whose hash was computed elsewhere.
    public init(name: String, hash: ContentHash, source: String?, version: String = "") {
        self.name = name
        self.version = version
        self.source = source
        self.manifest = nil
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
    /// What went into the function's identity besides its source, when the plugin recorded it.
    /// Stored once per function, like the source.
    public var identityManifest: IdentityManifest?
    /// A readable rendering of the arguments (JSON-like), for `show` and `diff`.
    public var argumentsSnapshot: String
    /// False when the call was made with `cache: false`.
    public var cacheable: Bool

    /// Creates a task definition.
    public init(functionName: String, functionHash: ContentHash, functionVersion: String = "", source: String? = nil,
                identityManifest: IdentityManifest? = nil, argumentsSnapshot: String, cacheable: Bool = true) {
        self.functionName = functionName
        self.functionHash = functionHash
        self.functionVersion = functionVersion
        self.source = source
        self.identityManifest = identityManifest
        self.argumentsSnapshot = argumentsSnapshot
        self.cacheable = cacheable
    }
}
