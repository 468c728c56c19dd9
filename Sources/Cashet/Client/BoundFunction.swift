/// A cached function bound to a client, called like the function itself:
///
/// ```swift
/// let transform = client.bind($transform)
/// let scaled = try await transform([1, 2, 3], 2.0)   // computed once, then from the cache
/// ```
///
/// A call is ``Client/submit(_:_:cache:tags:options:)`` followed by ``ResultRef/load()``. Use
/// `submit` itself for the ``ResultRef`` (to chain steps, or to see whether it was a hit).
public struct BoundFunction<each Argument: Sendable, Output: Codable & Sendable>: Sendable {
    /// The client that answers the calls.
    public let client: Client
    /// The function it calls.
    public let function: CachedFunction<repeat each Argument, Output>

    /// Returns the cached result of the function on `inputs`, running it only on a miss.
    public nonisolated(nonsending) func callAsFunction<each Input: CashetArgument>(_ inputs: repeat each Input) async throws(CashetError) -> Output
    where repeat (each Input).Resolved == each Argument {
        try await client.submit(function, repeat each inputs).load()
    }
}

extension Client {
    /// `function` bound to this client: `try await bound(arguments…)` returns its result.
    public func bind<each Argument, Output>(_ function: CachedFunction<repeat each Argument, Output>) -> BoundFunction<repeat each Argument, Output> {
        BoundFunction(client: self, function: function)
    }
}
