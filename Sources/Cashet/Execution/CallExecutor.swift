/// One run of a cached function's body, as the client hands it to a ``CallExecutor``.
public struct ExecutionRequest<Output: Sendable>: Sendable {
    /// What runs (name, identity, version, source, argument snapshot).
    public let task: TaskDefinition
    /// Runs the body in this process, with the resolved arguments, on the executor of its caller.
    public let body: nonisolated(nonsending) @Sendable () async throws -> Output
    /// The resolved arguments, each encoded with ``BinarySerializer`` (for executors that run
    /// the body elsewhere, such as ``ProcessExecutor``).
    public let encodedArguments: @Sendable () throws -> [[UInt8]]
    /// Decodes a result that was encoded with ``BinarySerializer`` elsewhere.
    public let decodeOutput: @Sendable ([UInt8]) throws -> Output

    /// Creates a request.
    public init(task: TaskDefinition, body: nonisolated(nonsending) @escaping @Sendable () async throws -> Output,
                encodedArguments: @escaping @Sendable () throws -> [[UInt8]], decodeOutput: @escaping @Sendable ([UInt8]) throws -> Output) {
        self.task = task
        self.body = body
        self.encodedArguments = encodedArguments
        self.decodeOutput = decodeOutput
    }
}

extension ExecutionRequest where Output: Decodable {
    /// A request whose result, when produced elsewhere, arrives as ``BinarySerializer`` bytes.
    init(task: TaskDefinition, body: nonisolated(nonsending) @escaping @Sendable () async throws -> Output, encodedArguments: @escaping @Sendable () throws -> [[UInt8]]) {
        self.init(task: task, body: body, encodedArguments: encodedArguments,
                  decodeOutput: { bytes in try BinarySerializer().decode(Output.self, from: bytes) })
    }
}

/// Runs the body of a cached function on a cache miss.
///
/// Not named `Executor`: that is the Swift concurrency protocol, and a module's own `Executor`
/// would silently shadow it in every file that imports cashet.
///
/// The client computes the key, looks the call up, holds the call's lease and records the
/// result; the executor only decides *how* the body runs: in this task (``LocalExecutor``), in
/// a child process (``ProcessExecutor``), or anywhere else that can return its result.
public protocol CallExecutor: Sendable {
    /// Runs `request` and returns its result (or throws what it threw). Must honour task
    /// cancellation: a timed-out or cancelled call cancels the task that awaits this.
    nonisolated(nonsending) func execute<Output: Sendable>(_ request: ExecutionRequest<Output>) async throws -> Output
}

/// Runs each body in the calling task, as an ordinary `await` of it.
///
/// The request's body runs where `execute` is awaited: a function given a synchronous closure
/// runs on the caller's executor (no thread hop), one given an `async` closure awaits it as a
/// plain `async` call (on the global concurrent executor). Hits never get this far.
public struct LocalExecutor: CallExecutor {
    /// Creates the executor.
    public init() {}

    public nonisolated(nonsending) func execute<Output: Sendable>(_ request: ExecutionRequest<Output>) async throws -> Output {
        try await request.body()
    }
}
