import CoreMetrics
import Foundation
import Logging

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
    public let executor: any CallExecutor
    /// How results become bytes.
    public let serializer: any Serializer
    /// Where the client reports retries, failed runs and failed `map` batches (quiet by default).
    public let logger: Logger
    let metrics: CallMetrics

    /// A client over any store, executor and serializer.
    ///
    /// - Parameters:
    ///   - store: where commits and results live: an ``LMDBStore``, a ``TieredStore``, a
    ///     `PostgresStore`, or any ``Store``.
    ///   - executor: runs the body of a call on a miss (``LocalExecutor``: in this process).
    ///   - serializer: turns results into bytes and back (``BinarySerializer`` by default).
    ///   - logger: receives retries (`notice`), calls recorded as failed and failed `map`
    ///     batches (`warning`, `error`), with the function's name and fingerprint as metadata.
    ///     Give the store its own logger (e.g. ``LMDBStore/Configuration/logger``) for what
    ///     happens inside it.
    ///   - metricsFactory: where the counters (`cashet_hits`, `cashet_misses`,
    ///     `cashet_executions`, `cashet_failures`, `cashet_stored_bytes`) and the timer
    ///     (`cashet_commit_duration`) go; nil uses
    ///     `MetricsSystem.factory` (bootstrap it before making the client).
    public init(store: any Store, executor: any CallExecutor = LocalExecutor(), serializer: any Serializer = BinarySerializer(),
                logger: Logger = .cashetQuiet, metricsFactory: (any MetricsFactory)? = nil) {
        self.store = store
        self.executor = executor
        self.serializer = serializer
        self.logger = logger
        self.metrics = CallMetrics(factory: metricsFactory ?? MetricsSystem.factory)
    }

    /// A client over an ``LMDBStore`` in `path` (created when missing), default `.cashet`.
    /// `logger` goes to both the client and the store.
    public convenience init(path: String = ".cashet", executor: any CallExecutor = LocalExecutor(), serializer: any Serializer = BinarySerializer(),
                            logger: Logger = .cashetQuiet, metricsFactory: (any MetricsFactory)? = nil) throws(CashetError) {
        var configuration = LMDBStore.Configuration()
        configuration.logger = logger
        self.init(store: try LMDBStore(path, configuration: configuration), executor: executor, serializer: serializer,
                  logger: logger, metricsFactory: metricsFactory)
    }

    /// Releases the store.
    public nonisolated(nonsending) func close() async { await store.close() }

    /// Returns the cached result of `function(inputs…)`, running it only on a miss.
    ///
    /// A miss runs once however many tasks and processes ask for it at the same time: the
    /// first takes the call's lease in the store, the others wait for its commit (and run it
    /// themselves only if it failed, or its process died).
    ///
    /// - Parameters:
    ///   - function: the cached function.
    ///   - inputs: its arguments: plain ``CashetValue``s or ``ResultRef``s of earlier steps.
    ///   - cache: false to always run (the new commit still records its parent); nil uses the
    ///     function's own setting.
    ///   - tags: metadata recorded with a new commit; not part of the cache key.
    ///   - options: retries, time limit, TTL, force; nil uses the function's.
    /// - Throws: `.executionFailed` or `.timedOut` (after recording a failed commit) when the
    ///   function throws or runs out of time on every attempt; `.cancelled` when the calling task
    ///   is cancelled (nothing is recorded); storage or serialization errors otherwise.
    public nonisolated(nonsending) func submit<each Input: CashetArgument, each Argument, Output>(
        _ function: CachedFunction<repeat each Argument, Output>,
        _ inputs: repeat each Input,
        cache: Bool? = nil,
        tags: [String: String] = [:],
        options: CallOptions? = nil
    ) async throws(CashetError) -> ResultRef<Output> where repeat (each Input).Resolved == each Argument {
        let fingerprint = try function.fingerprint(repeat each inputs)
        let options = try (options ?? function.options).validated()
        let useCache = cache ?? function.cache
        // A hit reads the clock only for a TTL; the time a miss records is still taken before it ran.
        let startedBeforeLookup = options.ttl == nil ? nil : Date()
        if useCache, !options.force, let hit = try await store.headAndOutput(for: fingerprint),
           options.accepts(hit.head, callStartedAt: startedBeforeLookup ?? .distantPast) {
            noteCalls(hits: 1)
            return hitRef(hit.head, preloaded: hit.output)
        }
        let start = startedBeforeLookup ?? Date()

        let call = prepareCall(function, repeat each inputs, cacheable: useCache)
        let draft = CommitDraft(fingerprint: fingerprint, task: call.task, status: .completed, createdAt: start,
                                tags: function.tags.merging(tags) { _, call in call })
        let run: nonisolated(nonsending) () async throws(CashetError) -> Ran = {
            self.noteCalls(misses: 1)
            return try await self.execute(try await call.makeRequest(), draft: draft, options: options)
        }
        // An uncached call always runs: nothing to share, so no lease.
        let outcome = useCache
            ? try await runLeased(fingerprint) { head in options.accepts(head, callStartedAt: start) } run: { () throws(CashetError) in try await run() }
            : .ran(try await run())
        switch outcome {
        case .hit(let head):
            noteCalls(hits: 1)
            return hitRef(head)
        case .ran(let ran):
            // One ref: the bytes just encoded travel with it (`map`'s many refs stay light).
            guard let ref: ResultRef<Output> = ranRef(ran.commit, carrying: ran.encodedOutput) else {
                throw CashetError(.corruptData, "the store recorded commit \(ran.commit.hash.shortHex) without its output")
            }
            return ref
        }
    }
}
