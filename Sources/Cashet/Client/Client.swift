import Foundation

/// The entry point: submits calls, answers hits from the store, runs and records misses.
///
/// ```swift
/// let client = try Client()                       // LMDBStore at ./.cashet
/// let transform = CachedFunction("transform", version: "1") { (data: [Double], scale: Double) in
///     data.map { $0 * scale }
/// }
/// let ref = try await client.submit(transform, [1, 2, 3], 2.0)
/// print(try await ref.load())                     // [2.0, 4.0, 6.0], computed once
/// ```
public final class Client: Sendable {
    /// Where blobs and commits live.
    public let store: any Store
    /// How misses run.
    public let executor: any Executor
    /// How results become bytes.
    public let serializer: any Serializer

    /// A client over any store, executor and serializer.
    public init(store: any Store, executor: any Executor = LocalExecutor(), serializer: any Serializer = BinarySerializer()) {
        self.store = store
        self.executor = executor
        self.serializer = serializer
    }

    /// A client over an ``LMDBStore`` in `path` (created when missing), default `.cashet`.
    public convenience init(path: String = ".cashet", executor: any Executor = LocalExecutor(), serializer: any Serializer = BinarySerializer()) throws(CashetError) {
        self.init(store: try LMDBStore(path), executor: executor, serializer: serializer)
    }

    /// Releases the store.
    public nonisolated(nonsending) func close() async { await store.close() }

    /// Returns the cached result of `function(inputs…)`, running it only on a miss.
    ///
    /// - Parameters:
    ///   - function: the cached function.
    ///   - inputs: its arguments: plain ``CashetValue``s or ``ResultRef``s of earlier steps.
    ///   - cache: false to always run (the new commit still records its parent); nil uses the
    ///     function's own setting.
    ///   - tags: metadata recorded with a new commit; not part of the cache key.
    /// - Throws: `.executionFailed` (after recording a failed commit) when the function throws;
    ///   storage or serialization errors otherwise.
    public nonisolated(nonsending) func submit<each Input: CashetArgument, each Argument, Output>(
        _ function: CachedFunction<repeat each Argument, Output>,
        _ inputs: repeat each Input,
        cache: Bool? = nil,
        tags: [String: String] = [:]
    ) async throws(CashetError) -> ResultRef<Output> where repeat (each Input).Resolved == each Argument {
        let fingerprint = try function.fingerprint(repeat each inputs)

        let useCache = cache ?? function.cache
        if useCache, let head = try await store.head(for: fingerprint), head.status == .completed, let output = head.output {
            return ResultRef(output: output, commit: head.commit, wasCached: true, store: store, serializer: serializer)
        }

        var snapshot: [String] = []
        for input in repeat each inputs { snapshot.append(input.argumentDescription) }
        let task = TaskDefinition(functionName: function.identity.name, functionHash: function.identity.hash,
                                  functionVersion: function.identity.version, source: function.identity.source,
                                  argumentsSnapshot: "(" + snapshot.joined(separator: ", ") + ")", cacheable: useCache)
        var draft = CommitDraft(fingerprint: fingerprint, task: task, status: .completed, createdAt: Date(),
                                tags: function.tags.merging(tags) { _, call in call })

        let resolved = (repeat try await (each inputs).resolvedValue())
        let output: Output
        do {
            output = try await executor.execute(task) { try await function.body(repeat each resolved) }
        } catch {
            draft.status = .failed
            draft.error = String(describing: error)
            draft.createdAt = Date()
            let failed = try await store.record(draft, output: nil)
            throw CashetError(.executionFailed, "\(task.functionName) failed (recorded as commit \(failed.hash.shortHex)): \(error)", underlying: error)
        }
        let bytes = try serializer.encode(output)
        draft.createdAt = Date()
        let commit = try await store.record(draft, output: bytes)
        guard let ref = commit.output else {
            throw CashetError(.corruptData, "the store recorded commit \(commit.hash.shortHex) without its output")
        }
        return ResultRef(output: ref, commit: commit.hash, wasCached: false, store: store, serializer: serializer)
    }
}
