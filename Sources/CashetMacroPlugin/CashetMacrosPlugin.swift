import SwiftCompilerPlugin
import SwiftSyntaxMacros

/// The compiler plugin that provides cashet's macros.
@main
struct CashetMacrosPlugin: CompilerPlugin {
    let providingMacros: [any Macro.Type] = [CachedMacro.self, BinaryDecodableMacro.self]
}
