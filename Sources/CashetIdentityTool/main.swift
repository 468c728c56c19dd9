import CashetIdentity
import Foundation

// CashetIdentityTool OUTPUT.swift [--cache FILE] --target MODULE DIR FILE... [--target ...]
//     [--package NAME VERSION REVISION]... [--local-package NAME DIR FILE...]...
//
// Writes the identity manifest of every @Cached function of the first target (see
// ToolArguments). The output changes only when a manifest or diagnostic changes, so an edit
// that changes no identity recompiles nothing more than the edited file.

func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data("error: CashetIdentityTool: \(message)\n".utf8))
    exit(status)
}

let arguments: ToolArguments
do {
    arguments = try ToolArguments(Array(CommandLine.arguments.dropFirst()))
} catch {
    fail("\(error)\nusage: CashetIdentityTool OUTPUT.swift [--cache FILE] --target MODULE DIR FILE... [--package NAME VERSION REVISION]... [--local-package NAME DIR FILE...]...", status: 2)
}

/// `DIR/sub/File.swift` of target `Core` → `Core/sub/File.swift`.
func display(_ path: String, module: String, directory: String) -> String {
    let prefix = directory.hasSuffix("/") ? directory : directory + "/"
    let relative = path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : (path.split(separator: "/").last.map(String.init) ?? path)
    // One line: file names are fields of the manifest's line format.
    return "\(module)/\(relative)".split(omittingEmptySubsequences: false) { $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }.joined(separator: " ")
}

let started = Date()
var cache = SummaryCache(contentsOf: arguments.cache)
var index = CodeIndex()
let cacheLoaded = Date()
var packages = arguments.packages.map { PackageVersion(name: $0.name, version: $0.version, revision: $0.revision) }
do {
    for target in arguments.targets {
        for path in target.files.sorted() {
            index.add(try cache.summary(of: path, module: target.module, display: display(path, module: target.module, directory: target.directory)))
        }
    }
    // A package referenced by path has no version: its sources are its version.
    for local in arguments.localPackages {
        var lines = ""
        for path in local.files.sorted() {
            lines += "\(display(path, module: local.name, directory: local.directory))\t\(try cache.normalizedHash(of: path))\n"
        }
        packages.append(PackageVersion(name: local.name, version: "local", revision: SHA256.hex(lines)))
    }
} catch {
    fail("cannot read a source file: \(error)", status: 1)
}

let indexed = Date()
let fileCount = arguments.targets.reduce(0) { $0 + $1.files.count }
let text = GeneratedIdentities.text(index: index, module: arguments.targets[0].module, packages: packages, fileCount: fileCount)
let generated = Date()
do {
    try cache.write(to: arguments.cache)
} catch {
    // A cache that cannot be written costs time next run, not correctness.
    FileHandle.standardError.write(Data("warning: CashetIdentityTool cannot write its cache \(arguments.cache ?? ""): \(error)\n".utf8))
}
if (try? String(contentsOfFile: arguments.output, encoding: .utf8)) != text {
    do {
        try text.write(toFile: arguments.output, atomically: true, encoding: .utf8)
    } catch {
        fail("cannot write \(arguments.output): \(error)", status: 1)
    }
}
if ProcessInfo.processInfo.environment["CASHET_IDENTITY_STATS"] != nil {
    func ms(_ from: Date, _ to: Date) -> Int { Int(to.timeIntervalSince(from) * 1000) }
    let now = Date()
    FileHandle.standardError.write(Data("CashetIdentityTool: \(fileCount) files, \(cache.parsed) parsed, \(ms(started, now)) ms (cache read \(ms(started, cacheLoaded)), summaries \(ms(cacheLoaded, indexed)), manifests \(ms(indexed, generated)), writes \(ms(generated, now)))\n".utf8))
}
