/// What a store keeps once per function identity beside its name and version: the source and
/// the identity manifest. Neither is part of any commit's record (so of no hash); a store
/// joins them to the commits it reads.
package struct FunctionDetails: Equatable, Sendable {
    /// The function's source text, when its identity carried one.
    package var source: String?
    /// What went into its identity besides the source, when the plugin recorded it.
    package var manifest: IdentityManifest?

    package init(source: String? = nil, manifest: IdentityManifest? = nil) {
        self.source = source
        self.manifest = manifest
    }

    /// Nothing known.
    package static let none = FunctionDetails()

    /// These details completed with what `other` knows and these lack (an import, or a run
    /// of a newer build, may bring what an older record did not keep).
    package func filled(from other: FunctionDetails) -> FunctionDetails {
        FunctionDetails(source: source ?? other.source, manifest: manifest ?? other.manifest)
    }
}

extension TaskDefinition {
    /// The source and manifest, as a store keeps them.
    package var details: FunctionDetails {
        get { FunctionDetails(source: source, manifest: identityManifest) }
        set {
            source = newValue.source
            identityManifest = newValue.manifest
        }
    }
}
