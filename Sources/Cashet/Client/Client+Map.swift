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
    public nonisolated(nonsending) func map<Input: CashetArgument, Output>(
        _ function: CachedFunction<Input.Resolved, Output>,
        over inputs: [Input],
        maxConcurrency: Int = 8,
        tags: [String: String] = [:],
        options: CallOptions? = nil,
        batchSize: Int = 4096,
        flushInterval: Duration = .milliseconds(100)
    ) async throws(CashetError) -> [ResultRef<Output>] {
        let options = try (options ?? function.options).validated()
        guard maxConcurrency >= 1, batchSize >= 1 else {
            throw CashetError(.invalidArgument, "maxConcurrency and batchSize must be at least 1, got \(maxConcurrency) and \(batchSize)")
        }
        let start = Date()
        let accept = { @Sendable (head: CommitHead) in options.accepts(head, callStartedAt: start) }
        let fingerprints = try inputs.map { input throws(CashetError) in try function.fingerprint(input) }
        var results = [ResultRef<Output>?](repeating: nil, count: inputs.count)

        // Hits, in one snapshot.
        var slotsByCall: [Fingerprint: [Int]] = [:]
        var calls: [Fingerprint] = []   // distinct misses, in input order
        let heads = function.cache && !options.force ? try await store.heads(for: fingerprints) : Array(repeating: nil, count: inputs.count)
        for (index, head) in heads.enumerated() {
            if let head, accept(head) {
                results[index] = hitRef(head)
                continue
            }
            if slotsByCall[fingerprints[index]] == nil { calls.append(fingerprints[index]) }
            slotsByCall[fingerprints[index], default: []].append(index)
        }

        let work = calls.map { MapWork(call: $0, input: slotsByCall[$0]![0]) }

        var firstFailure: CashetError?
        // Runs waiting for the next group commit; their leases are released once it is durable.
        var pending: [PendingRun] = []
        // The batch being committed, while the calls go on running (one commit at a time).
        var committing: [PendingRun]?
        defer { for item in pending + (committing ?? []) { item.lease?.release() } }
        var oldestPending = ContinuousClock.now
        let clock = ContinuousClock()

        /// Hands out the results of a committed batch and releases its leases.
        func committed(_ batch: [PendingRun], _ commits: [Commit]) {
            for (item, commit) in zip(batch, commits) {
                item.lease?.release()
                if let failure = item.failure {
                    firstFailure = firstFailure ?? failure.error(commit.task, recordedAs: commit)
                } else {
                    for slot in slotsByCall[item.call]! { results[slot] = ranRef(commit) }
                }
            }
        }

        let events = makeMapEvents(function, inputs: inputs, tags: tags, options: options, accept: accept)
        let store = self.store
        var storageError: CashetError?
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
            /// Starts writing the pending runs when they are due and no commit is in progress.
            func commitIfDue() {
                guard committing == nil, !pending.isEmpty,
                      pending.count >= batchSize || clock.now - oldestPending >= flushInterval || running == 0 else { return }
                let batch = pending
                pending = []
                committing = batch
                group.addTask {
                    do throws(CashetError) {
                        return [.committed(try await store.recordBatch(batch.map(\.entry)))]
                    } catch {
                        return [.commitFailed(error)]
                    }
                }
            }
            fill()
            group.addTask { [await Self.tick(after: flushInterval)] }
            while running > 0 || committing != nil || !pending.isEmpty, let chunkEvents = await group.next() {
                for event in chunkEvents {
                    switch event {
                    case .tick:
                        if running > 0 || committing != nil || !pending.isEmpty {
                            group.addTask { [await Self.tick(after: flushInterval)] }
                        }
                    case .committed(let commits):
                        committed(committing ?? [], commits)
                        committing = nil
                    case .commitFailed(let error):
                        storageError = storageError ?? error
                    case .ran(let call, let entry, let failure, let lease):
                        if let failure, failure.code == .cancelled {
                            lease?.release()
                            firstFailure = firstFailure ?? failure.error(entry.draft.task, recordedAs: nil)
                        } else {
                            if pending.isEmpty { oldestPending = clock.now }
                            pending.append(PendingRun(call: call, entry: entry, failure: failure, lease: lease))
                        }
                    case .resolved(let call, let outcome):
                        switch outcome {
                        case .success(.hit(let head)):
                            for slot in slotsByCall[call]! { results[slot] = hitRef(head) }
                        case .success(.ran(let commit)):
                            for slot in slotsByCall[call]! { results[slot] = ranRef(commit) }
                        case .failure(let error):
                            firstFailure = firstFailure ?? error
                        }
                    }
                }
                if case .ran? = chunkEvents.first { running -= 1 } else if case .resolved? = chunkEvents.first { running -= 1 }
                if storageError != nil { break }
                fill()
                commitIfDue()
            }
            group.cancelAll()
            // After a failed batch, the calls still running finish (cancelled) with nobody to
            // record them: their leases are released here, or every later call of those inputs,
            // in this process and others, would wait for them for as long as this one lives.
            while let chunkEvents = await group.next() {
                for case .ran(_, _, _, let lease) in chunkEvents { lease?.release() }
            }
        }
        if let storageError { throw storageError }
        if let firstFailure { throw firstFailure }
        if Task.isCancelled { throw CashetError(.cancelled, "map of \(function.identity.name) was cancelled") }
        return try results.enumerated().map { index, ref throws(CashetError) in
            guard let ref else { throw CashetError(.executionFailed, "map of \(function.identity.name) has no result for input \(index)") }
            return ref
        }
    }

    /// One distinct miss of a `map`.
    struct MapWork: Sendable {
        let call: Fingerprint
        /// The first input with this fingerprint.
        let input: Int
    }

    /// A run waiting for its group commit.
    struct PendingRun: Sendable {
        let call: Fingerprint
        let entry: CommitEntry
        let failure: AttemptFailure?
        let lease: (any CallLease)?
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
    }

    /// The body of each child task of `map`.
    private func makeMapEvents<Input: CashetArgument, Output>(
        _ function: CachedFunction<Input.Resolved, Output>, inputs: [Input],
        tags: [String: String], options: CallOptions, accept: @escaping @Sendable (CommitHead) -> Bool
    ) -> @Sendable (MapWork) async -> MapEvent {
        let allTags = function.tags.merging(tags) { _, call in call }
        return { [self] item in
            let input = inputs[item.input]
            let task = TaskDefinition(functionName: function.identity.name, functionHash: function.identity.hash,
                                      functionVersion: function.identity.version, source: function.identity.source,
                                      argumentsSnapshot: "(\(input.argumentDescription))", cacheable: function.cache)
            let draft = CommitDraft(fingerprint: item.call, task: task, status: .completed, createdAt: Date(), tags: allTags)
            let makeRequest = { () async throws(CashetError) -> ExecutionRequest<Output> in
                let resolved = try await input.resolvedValue()
                return ExecutionRequest(
                    task: task,
                    body: { try await function.callBody(resolved) },
                    encodedArguments: { [try WireCodec.encode(resolved)] })
            }
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
                    let (entry, failure) = await self.attempt(try await makeRequest(), draft: draft, options: options)
                    return .ran(item.call, entry, failure, lease)
                } catch {
                    lease?.release()
                    return .resolved(item.call, .failure(error))
                }
            }
            do throws(CashetError) {
                let outcome = try await self.runLeased(item.call, accept: accept) { () throws(CashetError) -> Commit in
                    try await self.execute(try await makeRequest(), draft: draft, options: options)
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
