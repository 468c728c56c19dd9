/// An external package as the build uses it: its version enters the identity of every cached
/// function of a target that depends on it.
public struct PackageVersion: Hashable, Sendable {
    /// The package's name (`swift-numerics`).
    public let name: String
    /// Its resolved version or branch (`1.0.2`), or `local` for a package referenced by path.
    public let version: String
    /// The revision the build uses: the commit for a Git package, a hash of the sources for a
    /// local one, empty when the package graph gives none (a registry package).
    public let revision: String

    /// A package version.
    public init(name: String, version: String, revision: String) {
        self.name = name
        self.version = version
        self.revision = revision
    }
}

/// Everything that enters a cached function's identity besides its own source and `version:`.
public struct IdentityInputs: Hashable, Sendable {
    /// The declarations it reaches, sorted by module, signature and hash.
    public let helpers: [Declaration]
    /// The external packages its target depends on, minus those it ignores, sorted by name.
    public let dependencies: [PackageVersion]
    /// The packages `ignoringDependencies:` names, as written.
    public let ignoredDependencies: [String]
    /// `ignoringDependencies:` names that are no dependency of the target (a mistake to report).
    public let unknownIgnoredDependencies: [String]

    /// SHA-256 (hex) over every helper's module, kind, signature and normalized-source hash
    /// and every dependency's name, version and revision: changes when any of them changes,
    /// and only then (moving code to another line or file does not change it).
    public var hash: String {
        Self.hash(helperDigests: helpers.map(\.identityDigest), dependencies: dependencies)
    }

    /// The hash of helpers given by their ``Declaration/identityDigest`` (in order), and of
    /// `dependencies`: SHA-256 over the digests, then one line per dependency. A caller with
    /// many functions reaching the same declarations computes each digest once.
    public static func hash(helperDigests: [[UInt8]], dependencies: [PackageVersion]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(helperDigests.count * 32 + dependencies.count * 64)
        for digest in helperDigests { bytes += digest }
        for dependency in dependencies { bytes += Array("dependency\t\(dependency.name)\t\(dependency.version)\t\(dependency.revision)\n".utf8) }
        return SHA256.hex(bytes)
    }
}

extension Declaration {
    /// SHA-256 of what stands for the declaration in an identity: module, kind, signature and
    /// normalized-source hash (not where it is).
    public var identityDigest: [UInt8] {
        SHA256.digest(Array("helper\t\(module)\t\(kind.rawValue)\t\(signature)\t\(ownHash)".utf8))
    }
}

extension CodeIndex {
    /// The identity inputs of the cached function `qualifiedName` of `module`, whose target
    /// depends on `packages`; `reached` is what ``reached(from:in:)`` returns, if known.
    public func identityInputs(of qualifiedName: String, in module: String, packages: [PackageVersion], reached: [Declaration]? = nil) -> IdentityInputs {
        let ignored = functions(named: qualifiedName, in: module).flatMap { $0.cached?.ignoredDependencies ?? [] }
        let ignoredKeys = Set(ignored.map { $0.lowercased() })
        let known = Set(packages.map { $0.name.lowercased() })
        return IdentityInputs(
            helpers: reached ?? self.reached(from: qualifiedName, in: module),
            dependencies: packages.filter { !ignoredKeys.contains($0.name.lowercased()) }.sorted { ($0.name, $0.version, $0.revision) < ($1.name, $1.version, $1.revision) },
            ignoredDependencies: ignored,
            unknownIgnoredDependencies: ignored.filter { !known.contains($0.lowercased()) })
    }
}
