/// The declarations of a set of modules and the name-based reference graph between them.
///
/// Edges are by name and over-approximate: a reference to `step` reaches every declaration
/// named `step` in any indexed module (all overloads, any type); a reference to a type name
/// reaches the type's declaration, its members and its extensions. Names that match nothing
/// indexed (the standard library, Foundation, external packages, locals) are ignored. So an
/// edit to indexed code a function could run changes its identity, and an edit elsewhere
/// does not; some edits it could not run change it too.
public struct CodeIndex: Sendable {
    /// Every declaration, in the order added.
    public private(set) var declarations: [Declaration] = []
    /// Every module-level and static mutable variable.
    public private(set) var mutableGlobals: [MutableGlobal] = []
    private var byName: [String: [Int]] = [:]
    private var byEnclosingType: [String: [Int]] = [:]
    /// Functions by module and qualified name: where a cached function's reach starts.
    private var functionsByQualifiedName: [FunctionKey: [Int]] = [:]
    private var globalsByName: [String: [MutableGlobal]] = [:]

    private struct FunctionKey: Hashable {
        let module, qualifiedName: String
    }

    /// An empty index.
    public init() {}

    /// An index over source strings of one module (for tests).
    public init(sources: [String], module: String = "Module") {
        for (number, source) in sources.enumerated() {
            add(SourceSummarizer.summarize(source: source, module: module, file: "\(module)/\(number).swift"))
        }
    }

    /// Adds one file's declarations.
    public mutating func add(_ summary: FileSummary) {
        for declaration in summary.declarations {
            let position = declarations.count
            declarations.append(declaration)
            if !declaration.name.isEmpty { byName[declaration.name, default: []].append(position) }
            if let type = declaration.enclosingType { byEnclosingType[type, default: []].append(position) }
            if declaration.kind == .function {
                functionsByQualifiedName[FunctionKey(module: declaration.module, qualifiedName: declaration.qualifiedName), default: []].append(position)
            }
        }
        mutableGlobals += summary.mutableGlobals
        for global in summary.mutableGlobals { globalsByName[global.name, default: []].append(global) }
    }

    /// The `@Cached` functions of `module`.
    public func cachedFunctions(in module: String) -> [Declaration] {
        declarations.filter { $0.module == module && $0.cached != nil }
    }

    /// The functions named `qualifiedName` in `module` (overloads share it).
    public func functions(named qualifiedName: String, in module: String) -> [Declaration] {
        (functionsByQualifiedName[FunctionKey(module: module, qualifiedName: qualifiedName)] ?? []).map { declarations[$0] }
    }

    /// Everything reachable from the functions named `qualifiedName` in `module` (not
    /// including them), sorted by module, signature and hash. Cycles are fine: this is plain
    /// reachability.
    public func reached(from qualifiedName: String, in module: String) -> [Declaration] {
        reachedPositions(from: qualifiedName, in: module).map { declarations[$0] }.sorted { ($0.module, $0.signature, $0.ownHash) < ($1.module, $1.signature, $1.ownHash) }
    }

    /// ``reached(from:in:)`` as positions in ``declarations``, in no particular order.
    public func reachedPositions(from qualifiedName: String, in module: String) -> [Int] {
        let start = functionsByQualifiedName[FunctionKey(module: module, qualifiedName: qualifiedName)] ?? []
        var seen = Set(start)
        var queue = start
        var reached: [Int] = []
        while let next = queue.popLast() {
            let declaration = declarations[next]
            for name in declaration.references {
                for target in byName[name] ?? [] where seen.insert(target).inserted {
                    reached.append(target)
                    queue.append(target)
                }
            }
            guard declaration.kind == .type else { continue }
            for target in byEnclosingType[declaration.name] ?? [] where seen.insert(target).inserted {
                reached.append(target)
                queue.append(target)
            }
        }
        return reached
    }

    /// Mutable globals that the function or what it reaches (`reached`, or computed) reads, by
    /// name, minus the names a declaration declares itself; sorted. Their values are not in the key.
    public func mutableState(readBy qualifiedName: String, in module: String, reached: [Declaration]? = nil) -> [MutableGlobal] {
        var found = Set<MutableGlobal>()
        for declaration in functions(named: qualifiedName, in: module) + (reached ?? self.reached(from: qualifiedName, in: module)) {
            for name in declaration.unshadowedReferences { found.formUnion(globalsByName[name] ?? []) }
        }
        return found.sorted { ($0.file, $0.line) < ($1.file, $1.line) }
    }

    /// The identifier under which the build-tool plugin publishes a function's identity
    /// inputs: `Type.name` → `Type__name`.
    public static func helperSymbol(for qualifiedName: String) -> String {
        qualifiedName.split(separator: ".", omittingEmptySubsequences: false).joined(separator: "__")
    }
}
