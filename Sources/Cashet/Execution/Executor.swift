/// Runs the body of a cached function on a cache miss.
///
/// The client computes the key, looks the call up and records the result; the executor only
/// decides *how* the body runs (in this task, in a pool, in a child process, …).
public protocol Executor: Sendable {
    /// Runs `body` for `task` and returns its result (or throws what it threw).
    nonisolated(nonsending) func execute<Output: Sendable>(_ task: TaskDefinition, _ body: @escaping @Sendable () async throws -> Output) async throws -> Output
}

/// Runs each body in the calling task, as an ordinary `await` of it.
///
/// The body is a plain (`@concurrent`) async closure, so a miss runs the user's work on the
/// global concurrent executor rather than on the caller's actor; hits never get this far.
public struct LocalExecutor: Executor {
    /// Creates the executor.
    public init() {}

    public nonisolated(nonsending) func execute<Output: Sendable>(_ task: TaskDefinition, _ body: @escaping @Sendable () async throws -> Output) async throws -> Output {
        try await body()
    }
}
