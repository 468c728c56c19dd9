import Foundation
import PackagePlugin

/// Runs CashetIdentityTool over a target's Swift files before it compiles. The tool writes one
/// generated file with, for every `@Cached` function, the manifest of what its identity covers;
/// the code `@Cached` expands to reads it.
///
/// What the tool is given (see `DependencyReach`): the target's files, the files of every
/// target of the same package it depends on (transitively, through products too), the version
/// of every other package it depends on, and the sources of those referenced by path. All of
/// them are the command's inputs, so an edit to any re-runs the tool; the tool rewrites its
/// output only when a manifest changes, so nothing else recompiles.
@main
struct CashetIdentityPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let source = target as? SourceModuleTarget else { return [] }
        let reach = DependencyReach(root: context.package, from: source)
        let output = context.pluginWorkDirectoryURL.appending(path: "CashetIdentities.swift")
        let cache = context.pluginWorkDirectoryURL.appending(path: "summaries.cache")
        var arguments = [output.path, "--cache", cache.path]
        var inputs: [URL] = []
        for module in [source] + reach.targets {
            let files = Self.swiftFiles(of: module)
            arguments += ["--target", module.name, module.directoryURL.path] + files.map(\.path)
            inputs += files
        }
        for package in reach.versioned {
            arguments += ["--package", package.name, package.version, package.revision]
        }
        for local in reach.local {
            let files = local.targets.flatMap(Self.swiftFiles)
            arguments += ["--local-package", local.package.displayName, local.package.directoryURL.path] + files.map(\.path)
            inputs += files
        }
        return [
            .buildCommand(
                displayName: "Hashing cached functions of \(target.name)",
                executable: try context.tool(named: "CashetIdentityTool").url,
                arguments: arguments,
                inputFiles: inputs,
                outputFiles: [output]
            ),
        ]
    }

    private static func swiftFiles(of target: SourceModuleTarget) -> [URL] {
        target.sourceFiles(withSuffix: "swift").map(\.url).sorted { $0.path < $1.path }
    }
}

/// What a target depends on, as identity sees it: walked through target and product
/// dependencies, transitively. Targets of the root package are indexed; other packages enter
/// by version (Git, registry) or by their sources (a local path). Cashet's own package, and
/// what only it depends on, are left out: its encodings are versioned by the store, and a
/// cashet upgrade must not discard every cached result.
struct DependencyReach {
    /// A package with a version.
    struct Versioned {
        let name, version, revision: String
    }

    /// A package referenced by path, with the targets of it that are reached.
    struct Local {
        let package: Package
        var targets: [SourceModuleTarget]
    }

    private(set) var targets: [SourceModuleTarget] = []
    private(set) var versioned: [Versioned] = []
    private(set) var local: [Local] = []

    init(root: Package, from start: SourceModuleTarget) {
        var owners: [Target.ID: Package] = [:]
        var packages = [root]
        var seenPackages: Set<Package.ID> = []
        while let package = packages.popLast() {
            guard seenPackages.insert(package.id).inserted else { continue }
            for target in package.targets { owners[target.id] = package }
            packages += package.dependencies.map(\.package)
        }
        var seen: Set<Target.ID> = [start.id]
        var queue = Self.dependencies(of: start)
        var versionedIDs: Set<Package.ID> = []
        var localIndex: [Package.ID: Int] = [:]
        while let target = queue.popLast() {
            guard seen.insert(target.id).inserted, let owner = owners[target.id] else { continue }
            if Self.isCashet(owner) { continue }
            queue += Self.dependencies(of: target)
            if owner.id == root.id {
                if let module = target as? SourceModuleTarget { targets.append(module) }
                continue
            }
            switch owner.origin {
            case .local:
                let position = localIndex[owner.id] ?? { local.append(Local(package: owner, targets: [])); return local.count - 1 }()
                localIndex[owner.id] = position
                if let module = target as? SourceModuleTarget { local[position].targets.append(module) }
            case .repository(_, let version, let revision):
                // SwiftPM says "no revision" when it has none to show.
                let known = revision == "no revision" ? "" : revision
                if versionedIDs.insert(owner.id).inserted { versioned.append(Versioned(name: owner.displayName, version: version, revision: known)) }
            case .registry(_, let version):
                if versionedIDs.insert(owner.id).inserted { versioned.append(Versioned(name: owner.displayName, version: version, revision: "")) }
            case .root:
                continue
            @unknown default:
                if versionedIDs.insert(owner.id).inserted { versioned.append(Versioned(name: owner.displayName, version: "unknown", revision: "")) }
            }
        }
        targets.sort { $0.name < $1.name }
        versioned.sort { $0.name < $1.name }
        local.sort { $0.package.displayName < $1.package.displayName }
    }

    private static func dependencies(of target: Target) -> [Target] {
        target.dependencies.flatMap { dependency -> [Target] in
            switch dependency {
            case .target(let target): return [target]
            case .product(let product): return product.targets
            @unknown default: return []
            }
        }
    }

    /// Cashet's package: the one that declares this plugin's tool.
    private static func isCashet(_ package: Package) -> Bool {
        package.targets.contains { $0.name == "CashetIdentityTool" }
    }
}
