import Foundation
import PackagePlugin

/// Runs CashetIdentityTool over a target's Swift files before it compiles. The tool writes one
/// generated file with, for every `@Cached` function, the hash of the same-module helpers it
/// reaches; the code `@Cached` expands to reads it.
@main
struct CashetIdentityPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let source = target as? SourceModuleTarget else { return [] }
        let inputs = source.sourceFiles(withSuffix: "swift").map(\.url).sorted { $0.path < $1.path }
        let output = context.pluginWorkDirectoryURL.appending(path: "CashetIdentities.swift")
        return [
            .buildCommand(
                displayName: "Hashing cached functions of \(target.name)",
                executable: try context.tool(named: "CashetIdentityTool").url,
                arguments: [output.path] + inputs.map(\.path),
                inputFiles: inputs,
                outputFiles: [output]
            ),
        ]
    }
}
