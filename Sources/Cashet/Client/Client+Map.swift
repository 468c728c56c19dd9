import Foundation

/// `map`: many calls of one function, hits answered together, misses run in parallel and
/// recorded by group commit.
extension Client {
    /// Calls `function` on every input and returns the results in input order.
    ///
    /// Hits are read in one snapshot and answered without waiting for any miss. Each distinct
    /// miss runs once (duplicates in `inputs` share it), at most `maxConcurrency` at a time, under
    /// its lease (so other processes wait for it rather than run it too). Misses whose lease
    /// another process holds are waited for, and run here only if that run fails.
    ///
    /// **Group commit.** Results are recorded in batches, one transaction (one fsync) per
    /// `batchSize` results or per `flushInterval`, whichever comes first, instead of one
    /// per result. What a crash can lose: runs that finished but were not yet flushed (at most
    /// one batch or `flushInterval` of work). They were never returned to the caller, and run
    /// again next time. Nothing `map` returned is lost, and the store is never left inconsistent.
    ///
    /// - Throws: the first failure (`.executionFailed`, `.timedOut`) after every other call has
    ///   been recorded; `.cancelled` if the calling task is cancelled (finished runs already
    ///   flushed stay recorded; the rest record nothing and leave no lease).
    public nonisolated(nonsending) func map<each Input: CashetArgument, each Argument, Output>(
        _ function: CachedFunction<repeat each Argument, Output>,
        over inputs: [(repeat each Input)],
        maxConcurrency: Int = 8,
        tags: [String: String] = [:],
        options: CallOptions? = nil,
        batchSize: Int = 4096,
        flushInterval: Duration = .milliseconds(100)
    ) async throws(CashetError) -> [ResultRef<Output>] where repeat (each Input).Resolved == each Argument {
        let options = try (options ?? function.options).validated()
        guard maxConcurrency >= 1, batchSize >= 1 else {
            throw CashetError(.invalidArgument, "maxConcurrency and batchSize must be at least 1, got \(maxConcurrency) and \(batchSize)")
        }
        let start = Date()
        let accept = { @Sendable (head: CommitHead) in options.accepts(head, callStartedAt: start) }
        let fingerprints = try inputs.map { input throws(CashetError) in try function.fingerprint(repeat each input) }
        let heads = function.cache && !options.force ? try await store.heads(for: fingerprints) : Array(repeating: nil, count: inputs.count)
        var state = MapGroupCommit<Output>(client: self, fingerprints: fingerprints, heads: heads, accept: accept,
                                           batchSize: batchSize, flushInterval: flushInterval)
        defer { state.releaseLeases() }

        let events = makeMapEvents(function, inputs: inputs, tags: tags, options: options, accept: accept)
        let work = state.work
        let store = self.store
        // Children take chunks of calls (fewer tasks for many small calls); each runs its calls
        // one after the other, so at most `maxConcurrency` bodies run at once. The group commit
        // is a child too, so calls keep running while a batch is written.
        let chunkSize = max(1, min(32, work.count / (maxConcurrency * 8)))
        await withTaskGroup(of: [MapEvent].self) { group in
            var next = 0, running = 0
            func fill() {
                while running < maxConcurrency, next < work.count {
                    let chunk = work[next..<min(next + chunkSize, work.count)]
                    group.addTask {
                        var chunkEvents: [MapEvent] = []
                        for item in chunk { chunkEvents.append(await events(item)) }
                        return chunkEvents
                    }
                    next += chunk.count
                    running += 1
                }
            }
            fill()
            group.addTask { [await Self.tick(after: flushInterval)] }
            while running > 0 || !state.isIdle, let chunkEvents = await group.next() {
                if chunkEvents.first?.endsChunk == true { running -= 1 }
                for event in chunkEvents {
                    if case .tick = event {
                        if running > 0 || !state.isIdle { group.addTask { [await Self.tick(after: flushInterval)] } }
                    } else {
                        state.apply(event)
                    }
                }
                if state.storageError != nil { break }
                fill()
                if let batch = state.takeDueBatch(callsRunning: running) {
                    group.addTask {
                        do throws(CashetError) {
                            let started = ContinuousClock.now
                            let commits = try await store.recordBatch(batch)
                            self.noteRecorded(batch, since: started)
                            return [.committed(commits)]
                        } catch {
                            self.logger.error("map batch not recorded", metadata: ["function": "\(function.identity.name)", "batch": "\(batch.count)", "error": "\(error)"])
                            return [.commitFailed(error)]
                        }
                    }
                }
            }
            group.cancelAll()
            // After a failed batch, the calls still running finish (cancelled) with nobody to
            // record them: their leases are released here, or every later call of those inputs,
            // in this process and others, would wait for them for as long as this one lives.
            while let chunkEvents = await group.next() {
                for case .ran(_, _, _, let lease) in chunkEvents { lease?.release() }
            }
        }
        if let storageError = state.storageError { throw storageError }
        if let firstFailure = state.firstFailure { throw firstFailure }
        if Task.isCancelled { throw CashetError(.cancelled, "map of \(function.identity.name) was cancelled") }
        let results = try state.results.enumerated().map { index, ref throws(CashetError) in
            guard let ref else { throw CashetError(.executionFailed, "map of \(function.identity.name) has no result for input \(index)") }
            return ref
        }
        let hits = results.count { $0.wasCached }   // not a key path: in this parameter-pack context the runtime crashes resolving one (Swift 6.3.1)
        noteCalls(hits: hits, misses: results.count - hits)
        return results
    }

    /// One distinct miss of a `map`.
    struct MapWork: Sendable {
        let call: Fingerprint
        /// The first input with this fingerprint.
        let input: Int
    }

    /// What a child of `map`'s task group reports.
    enum MapEvent: Sendable {
        /// The batch being committed is durable: its commits, in order.
        case committed([Commit])
        /// Writing the batch failed.
        case commitFailed(CashetError)
        /// A call ran here: its commit is to be recorded with the next batch, then its lease released.
        case ran(Fingerprint, CommitEntry, AttemptFailure?, (any CallLease)?)
        /// A call leased elsewhere was waited for (and run here if that run failed).
        case resolved(Fingerprint, Result<MissOutcome, CashetError>)
        /// Time to check whether the pending batch is due.
        case tick

        /// Whether this event is the last of a chunk of calls (one fewer child running).
        var endsChunk: Bool {
            switch self {
            case .ran, .resolved: true
            case .committed, .commitFailed, .tick: false
            }
        }
    }

    /// The body of each child task of `map`.
    private func makeMapEvents<each Input: CashetArgument, each Argument, Output>(
        _ function: CachedFunction<repeat each Argument, Output>, inputs: [(repeat each Input)],
        tags: [String: String], options: CallOptions, accept: @escaping @Sendable (CommitHead) -> Bool
    ) -> @Sendable (MapWork) async -> MapEvent where repeat (each Input).Resolved == each Argument {
        let allTags = function.tags.merging(tags) { _, call in call }
        return { [self] item in
            let input = inputs[item.input]
            let call = prepareCall(function, repeat each input, cacheable: function.cache)
            let draft = CommitDraft(fingerprint: item.call, task: call.task, status: .completed, createdAt: Date(), tags: allTags)
            // Uncached calls always run; cached ones run here if their lease is free and no
            // commit answered them meanwhile, else wait for the run that holds it.
            var lease: (any CallLease)?
            if function.cache {
                do throws(CashetError) {
                    switch try await self.tryLease(item.call, accept: accept) {
                    case .answered(let head): return .resolved(item.call, .success(.hit(head)))
                    case .leased(let taken): lease = taken
                    case .held: break
                    }
                } catch {
                    return .resolved(item.call, .failure(error))
                }
            }
            if lease != nil || !function.cache {
                do throws(CashetError) {
                    let (entry, failure) = await self.attempt(try await call.makeRequest(), draft: draft, options: options)
                    return .ran(item.call, entry, failure, lease)
                } catch {
                    lease?.release()
                    return .resolved(item.call, .failure(error))
                }
            }
            do throws(CashetError) {
                let outcome = try await self.runLeased(item.call, accept: accept) { () throws(CashetError) -> Ran in
                    try await self.execute(try await call.makeRequest(), draft: draft, options: options)
                }
                return .resolved(item.call, .success(outcome))
            } catch {
                return .resolved(item.call, .failure(error))
            }
        }
    }

    private static func tick(after interval: Duration) async -> MapEvent {
        try? await Task.sleep(for: interval)
        return .tick
    }
}
