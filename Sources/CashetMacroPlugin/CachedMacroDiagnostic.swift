import SwiftDiagnostics

/// Compile-time errors of `@Cached`, each naming what is wrong and what to do instead.
enum CachedMacroDiagnostic: DiagnosticMessage {
    case notAFunction(kind: String)
    case closure
    case genericFunction(name: String)
    case genericEnclosingType(type: String)
    case unsupportedParameter(function: String, parameter: String, reason: String)
    case noResult(function: String)
    case mutating(function: String)
    case actorMethod(function: String, actor: String)

    var message: String {
        switch self {
        case .notAFunction(let kind):
            "@Cached can only be applied to a function declaration, not to \(kind); put it on a 'func'"
        case .closure:
            "@Cached cannot be applied to a closure: a closure has no source identity of its own; declare it as a 'func' and put @Cached on that"
        case .genericFunction(let name):
            "@Cached cannot support the generic function '\(name)': a cached function needs concrete parameter and result types; write a non-generic wrapper for each type you cache"
        case .genericEnclosingType(let type):
            "@Cached cannot be used inside the generic type '\(type)': the cached peer needs a concrete type; move the function to a non-generic type or to file scope"
        case .unsupportedParameter(let function, let parameter, let reason):
            "@Cached function '\(function)' has parameter '\(parameter)' that is \(reason); arguments must be encodable values (CashetValue) so they can be hashed"
        case .noResult(let function):
            "@Cached function '\(function)' returns nothing; a cached function must return an encodable (Codable & Sendable) result"
        case .mutating(let function):
            "@Cached cannot be applied to the mutating method '\(function)': its result would depend on state it also changes"
        case .actorMethod(let function, let actor):
            "@Cached cannot be applied to '\(function)' in actor '\(actor)': actor state is not part of the cache key; use a static method or a free function"
        }
    }

    var diagnosticID: MessageID { MessageID(domain: "Cashet", id: "\(self)".prefix(while: { $0 != "(" }).description) }

    var severity: DiagnosticSeverity { .error }
}
