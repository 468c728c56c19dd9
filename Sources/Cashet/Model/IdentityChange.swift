/// One reason two identities of a function differ, as `cashet diff` states it.
public struct IdentityChange: Hashable, Sendable, Encodable, CustomStringConvertible {
    /// What changed.
    public enum Kind: String, Hashable, Sendable, Codable {
        /// The function's own source.
        case source
        /// The `version:` string.
        case version
        /// A declaration both identities reach has other source.
        case helperChanged = "helper_changed"
        /// A declaration only the second identity reaches.
        case helperAdded = "helper_added"
        /// A declaration only the first identity reaches.
        case helperRemoved = "helper_removed"
        /// An external package has another version or revision.
        case dependencyChanged = "dependency_changed"
        /// A package only the second identity depends on.
        case dependencyAdded = "dependency_added"
        /// A package only the first identity depends on.
        case dependencyRemoved = "dependency_removed"
        /// One of the commits was recorded without a manifest (an identity made without the
        /// plugin, or by a release before manifests): the helpers and packages cannot be compared.
        case manifestMissing = "manifest_missing"
    }

    /// What changed.
    public let kind: Kind
    /// The helper's signature or the package's name (empty for source and version).
    public let subject: String
    /// The sentence `cashet diff` prints.
    public let description: String

    /// A change.
    public init(kind: Kind, subject: String, description: String) {
        self.kind = kind
        self.subject = subject
        self.description = description
    }

    /// Why `new`'s function identity differs from `old`'s; empty when it does not.
    public static func between(_ old: TaskDefinition, _ new: TaskDefinition) -> [IdentityChange] {
        guard old.functionHash != new.functionHash else { return [] }
        var changes: [IdentityChange] = []
        if let a = old.source, let b = new.source, a != b { changes.append(IdentityChange(kind: .source, subject: "", description: "the function's source changed")) }
        if old.functionVersion != new.functionVersion {
            changes.append(IdentityChange(kind: .version, subject: "", description: "version \"\(old.functionVersion)\" → \"\(new.functionVersion)\""))
        }
        guard let a = old.identityManifest, let b = new.identityManifest else {
            if old.source != nil || new.source != nil, old.identityManifest != nil || new.identityManifest != nil {
                let which = old.identityManifest == nil ? "the first" : "the second"
                changes.append(IdentityChange(kind: .manifestMissing, subject: "", description: "\(which) commit recorded no list of helpers and packages, so they cannot be compared"))
            }
            return changes
        }
        changes += helperChanges(a.helpers, b.helpers)
        changes += dependencyChanges(a.dependencies, b.dependencies)
        return changes
    }

    private struct HelperKey: Hashable, Comparable {
        let module, kind, signature: String
        static func < (l: HelperKey, r: HelperKey) -> Bool { (l.module, l.signature, l.kind) < (r.module, r.signature, r.kind) }
    }

    private static func helperChanges(_ old: [IdentityManifest.Helper], _ new: [IdentityManifest.Helper]) -> [IdentityChange] {
        // Several declarations can share a key (two extensions of a type): compare their hashes as sets.
        let before = Dictionary(grouping: old) { HelperKey(module: $0.module, kind: $0.kind, signature: $0.signature) }
        let after = Dictionary(grouping: new) { HelperKey(module: $0.module, kind: $0.kind, signature: $0.signature) }
        var changes: [IdentityChange] = []
        for key in Set(before.keys).union(after.keys).sorted() {
            let a = before[key] ?? [], b = after[key] ?? []
            let place = (b.first ?? a.first).map { " in \($0.file)" } ?? ""
            let name = "\(noun(key.kind)) `\(key.signature)`\(place)"
            switch (a.isEmpty, b.isEmpty) {
            case (true, false): changes.append(IdentityChange(kind: .helperAdded, subject: key.signature, description: "\(name) is now reached"))
            case (false, true): changes.append(IdentityChange(kind: .helperRemoved, subject: key.signature, description: "\(name) is no longer reached"))
            default:
                if Set(a.map(\.hash)) != Set(b.map(\.hash)) {
                    changes.append(IdentityChange(kind: .helperChanged, subject: key.signature, description: "\(name) changed"))
                }
            }
        }
        return changes
    }

    private static func dependencyChanges(_ old: [IdentityManifest.Dependency], _ new: [IdentityManifest.Dependency]) -> [IdentityChange] {
        let before = Dictionary(old.map { ($0.package, $0) }, uniquingKeysWith: { first, _ in first })
        let after = Dictionary(new.map { ($0.package, $0) }, uniquingKeysWith: { first, _ in first })
        var changes: [IdentityChange] = []
        for name in Set(before.keys).union(after.keys).sorted() {
            switch (before[name], after[name]) {
            case (nil, let b?): changes.append(IdentityChange(kind: .dependencyAdded, subject: name, description: "package \(name) \(b.versionDescription) is a new dependency"))
            case (let a?, nil): changes.append(IdentityChange(kind: .dependencyRemoved, subject: name, description: "package \(name) \(a.versionDescription) is no longer a dependency"))
            case (let a?, let b?) where a != b:
                changes.append(IdentityChange(kind: .dependencyChanged, subject: name, description: "package \(name) \(a.versionDescription) → \(b.versionDescription)"))
            default: break
            }
        }
        return changes
    }

    /// `func` → `helper`, `var` → `property`: the word a sentence uses for a kind.
    private static func noun(_ kind: String) -> String {
        switch kind {
        case "func": "helper"
        case "init": "initializer"
        case "var": "property"
        default: kind
        }
    }
}

extension CommitDiff {
    /// Why the function identities differ (source, version, helpers, packages); empty when
    /// they do not.
    public var identityChanges: [IdentityChange] { IdentityChange.between(old.task, new.task) }
}
