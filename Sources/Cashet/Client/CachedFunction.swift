/// A function whose results cashet caches: an identity plus the body to run on a miss.
///
/// Without macros, name it and give it a version you bump when its behaviour changes:
///
/// ```swift
/// let square = CachedFunction("square", version: "1") { (x: Int) in x * x }
/// let ref = try await client.submit(square, 12)
/// ```
public struct CachedFunction<each Argument: Sendable, Output: Codable & Sendable>: Sendable {
    /// What enters the cache key for this function.
    public let identity: FunctionIdentity
    /// Tags added to every commit of this function.
    public let tags: [String: String]
    /// When false, every call runs (and is still recorded with lineage).
    public let cache: Bool
    /// Retries, time limit, TTL and force for every call (a call's own options replace them).
    public let options: CallOptions
    let body: @Sendable (repeat each Argument) async throws -> Output
    /// The body when it was given as a synchronous closure: a miss then runs it where `submit`
    /// is awaited, with no hop to the global executor and back (two thread wake-ups, most of a
    /// miss's time for a caller on the main actor).
    let synchronousBody: (@Sendable (repeat each Argument) throws -> Output)?

    /// A function identified by `name` and `version`, whose body is asynchronous: a miss awaits
    /// it as any `async` call of a plain closure, on the global concurrent executor.
    public init(_ name: String, version: String = "", tags: [String: String] = [:], cache: Bool = true, options: CallOptions = CallOptions(),
                _ body: @escaping @Sendable (repeat each Argument) async throws -> Output) {
        self.init(identity: FunctionIdentity(name: name, version: version), tags: tags, cache: cache, options: options, body)
    }

    /// A function identified by `name` and `version`, whose body is synchronous: a miss runs it
    /// in the calling task, on the caller's executor (wrap work that must leave the caller's
    /// actor in an `async` closure, or call `submit` from a task of its own).
    public init(_ name: String, version: String = "", tags: [String: String] = [:], cache: Bool = true, options: CallOptions = CallOptions(),
                _ body: @escaping @Sendable (repeat each Argument) throws -> Output) {
        self.init(identity: FunctionIdentity(name: name, version: version), tags: tags, cache: cache, options: options, body)
    }

    /// A function with an identity computed elsewhere (e.g. by the `@Cached` macro from its source).
    public init(identity: FunctionIdentity, tags: [String: String] = [:], cache: Bool = true, options: CallOptions = CallOptions(),
                _ body: @escaping @Sendable (repeat each Argument) async throws -> Output) {
        self.init(identity: identity, tags: tags, cache: cache, options: options, body: body, synchronousBody: nil)
    }

    /// A function with an identity computed elsewhere and a synchronous body, which a miss runs
    /// in the calling task, on the caller's executor.
    public init(identity: FunctionIdentity, tags: [String: String] = [:], cache: Bool = true, options: CallOptions = CallOptions(),
                _ body: @escaping @Sendable (repeat each Argument) throws -> Output) {
        self.init(identity: identity, tags: tags, cache: cache, options: options,
                  body: { (arguments: repeat each Argument) async throws -> Output in try body(repeat each arguments) }, synchronousBody: body)
    }

    /// Every public initializer ends here.
    private init(identity: FunctionIdentity, tags: [String: String], cache: Bool, options: CallOptions,
                 body: @escaping @Sendable (repeat each Argument) async throws -> Output,
                 synchronousBody: (@Sendable (repeat each Argument) throws -> Output)?) {
        self.identity = identity
        self.tags = tags
        self.cache = cache
        self.options = options
        self.body = body
        self.synchronousBody = synchronousBody
    }
}

extension CachedFunction {
    /// Runs the body (a method, so a single-argument caller can name the pack by one value).
    func callBody(_ arguments: repeat each Argument) async throws -> Output {
        try await body(repeat each arguments)
    }

    /// The fingerprint a call with `inputs` has: the same in every process and run.
    ///
    /// This is exactly the key `Client.submit` looks up; it runs nothing and touches no store.
    public func fingerprint<each Input: CashetArgument>(_ inputs: repeat each Input) throws(CashetError) -> Fingerprint
    where repeat (each Input).Resolved == each Argument {
        var arguments = CanonicalArguments()
        var count = 0
        for _ in repeat each inputs { count += 1 }
        arguments.writer.appendVarint(UInt64(count))
        for input in repeat each inputs { try input.writeCanonicalBytes(to: &arguments) }
        return Fingerprint(functionHash: identity.hash, argumentsHash: PrehashMemo.arguments.hash(arguments.bytes))
    }
}
