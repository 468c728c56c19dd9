/// The tool's command line, as the plugin writes it:
///
///     CashetIdentityTool OUTPUT.swift [--cache FILE]
///         --target MODULE DIR FILE...          (the first: the target being built)
///         --package NAME VERSION REVISION      (an external package it depends on)
///         --local-package NAME DIR FILE...     (a package referenced by path)
struct ToolArguments {
    /// A target whose files are indexed.
    struct Target {
        let module: String
        let directory: String
        var files: [String] = []
    }

    /// A package referenced by path: its version is a hash of its sources.
    struct LocalPackage {
        let name: String
        let directory: String
        var files: [String] = []
    }

    var output = ""
    var cache: String?
    var targets: [Target] = []
    var packages: [(name: String, version: String, revision: String)] = []
    var localPackages: [LocalPackage] = []

    struct UsageError: Error, CustomStringConvertible {
        let description: String
    }

    init(_ arguments: [String]) throws {
        var rest = arguments[...]
        func take(_ what: String) throws -> String {
            guard let next = rest.popFirst() else { throw UsageError(description: "\(what) is missing") }
            return next
        }
        output = try take("OUTPUT.swift")
        // Files belong to the last --target or --local-package named.
        enum Owner { case none, target, localPackage }
        var owner = Owner.none
        while let flag = rest.popFirst() {
            switch flag {
            case "--cache":
                cache = try take("--cache FILE")
            case "--target":
                targets.append(Target(module: try take("--target MODULE"), directory: try take("--target DIR")))
                owner = .target
            case "--package":
                packages.append((try take("--package NAME"), try take("--package VERSION"), try take("--package REVISION")))
            case "--local-package":
                localPackages.append(LocalPackage(name: try take("--local-package NAME"), directory: try take("--local-package DIR")))
                owner = .localPackage
            default:
                guard !flag.hasPrefix("--") else { throw UsageError(description: "unknown option \(flag)") }
                switch owner {
                case .none: throw UsageError(description: "\(flag): a file before any --target")
                case .target: targets[targets.count - 1].files.append(flag)
                case .localPackage: localPackages[localPackages.count - 1].files.append(flag)
                }
            }
        }
        guard !targets.isEmpty else { throw UsageError(description: "no --target given") }
    }
}
