import Foundation

/// The miss path shared by `submit` and `map`: leases, attempts, failed commits.
extension Client {
    /// The reference a hit returns (callers have checked `CallOptions.accepts`, which requires an output).
    func hitRef<Output>(_ head: CommitHead, preloaded: [UInt8]? = nil) -> ResultRef<Output> {
        ResultRef(output: head.output!, commit: head.commit, wasCached: true, store: store, serializer: serializer, preloaded: preloaded)
    }

    /// The reference to the result a run just recorded; nil when the commit failed. With
    /// `carrying`, the bytes the run encoded travel with it, so its `load()` reads nothing.
    func ranRef<Output>(_ commit: Commit, carrying encoded: [UInt8]? = nil) -> ResultRef<Output>? {
        commit.output.map { ResultRef(output: $0, commit: commit.hash, wasCached: false, store: store, serializer: serializer, preloaded: encoded) }
    }

    /// A call this process ran and recorded: its commit, and the result's bytes as encoded.
    struct Ran {
        let commit: Commit
        let encodedOutput: [UInt8]?
    }

    /// How a miss ended: another run's commit answered it, or this one ran and recorded.
    enum MissOutcome {
        case hit(CommitHead)
        case ran(Ran)
    }

    /// What trying a call's lease gave: the lease, a commit that already answers the call, or
    /// nothing yet (another task or process holds the lease).
    enum LeaseAttempt {
        case leased(any CallLease)
        case answered(CommitHead)
        case held
    }

    /// Tries the lease on `fingerprint`; once taken, checks the head again (the holder before us
    /// may have recorded a commit that `accept`s), giving the lease back when it has.
    nonisolated(nonsending) func tryLease(_ fingerprint: Fingerprint, accept: (CommitHead) -> Bool) async throws(CashetError) -> LeaseAttempt {
        guard let lease = try await store.tryLease(fingerprint) else { return .held }
        do throws(CashetError) {
            if let head = try await store.head(for: fingerprint), accept(head) {
                lease.release()
                return .answered(head)
            }
        } catch {
            lease.release()
            throw error
        }
        return .leased(lease)
    }

    /// Runs `run` holding the lease on `fingerprint`, unless a commit `accept`s first: checked
    /// after taking the lease and after every wait. Waits for a lease held elsewhere by polling
    /// with backoff (1 → 20 ms; a lease of this process wakes its waiters when released). The
    /// lease is released after `run` returns, so its commit is visible before anyone else can
    /// take the lease.
    nonisolated(nonsending) func runLeased(_ fingerprint: Fingerprint, accept: (CommitHead) -> Bool,
                                           run: nonisolated(nonsending) () async throws(CashetError) -> Ran) async throws(CashetError) -> MissOutcome {
        var wait = Duration.milliseconds(1)
        while true {
            switch try await tryLease(fingerprint, accept: accept) {
            case .answered(let head):
                return .hit(head)
            case .leased(let lease):
                defer { lease.release() }
                return .ran(try await run())
            case .held:
                await store.waitForLease(fingerprint, atMost: wait)
                if Task.isCancelled { throw CashetError(.cancelled, "cancelled while waiting for another run of \(fingerprint)") }
                wait = min(wait * 2, .milliseconds(20))
                if let head = try await store.head(for: fingerprint), accept(head) { return .hit(head) }
            }
        }
    }

    /// Runs `request` with the options' retries and time limit, then records it: completed with
    /// its encoded result, or failed with the error text (a failure is never served as a hit:
    /// the next call runs again). A cancelled call records nothing.
    nonisolated(nonsending) func execute<Output: Codable & Sendable>(_ request: ExecutionRequest<Output>, draft: CommitDraft,
                                                                    options: CallOptions) async throws(CashetError) -> Ran {
        let (entry, failure) = await attempt(request, draft: draft, options: options)
        if let failure, failure.code == .cancelled { throw failure.error(request.task, recordedAs: nil) }
        let started = ContinuousClock.now
        let commit = try await store.record(entry.draft, output: entry.output)
        noteRecorded([entry], since: started)
        if let failure {
            logRecordedFailure(failure, of: request.task, call: draft.fingerprint, commit: commit)
            throw failure.error(request.task, recordedAs: commit)
        }
        return Ran(commit: commit, encodedOutput: entry.output)
    }

    /// Why an attempt failed.
    struct AttemptFailure {
        let code: CashetError.Code
        let detail: String
        let underlying: (any Error)?

        /// The error a caller gets, naming the failed commit that records it (if any).
        func error(_ task: TaskDefinition, recordedAs commit: Commit?) -> CashetError {
            let recorded = commit.map { " (recorded as commit \($0.hash.shortHex))" } ?? ""
            return CashetError(code, "\(task.functionName)\(task.argumentsSnapshot) \(code == .cancelled ? "was cancelled" : "failed")\(recorded): \(detail)", underlying: underlying)
        }
    }

    /// Runs `request` (with retries and time limit) and returns the commit to record, and why it
    /// failed when it did (a `.cancelled` failure is not to be recorded).
    nonisolated(nonsending) func attempt<Output: Codable & Sendable>(_ request: ExecutionRequest<Output>, draft: CommitDraft,
                                                                    options: CallOptions) async -> (CommitEntry, AttemptFailure?) {
        var draft = draft
        let failure: AttemptFailure
        do {
            let output = try await Attempts.run(request, on: executor, options: options) { attempt, error, delay in
                guard let error else { return self.metrics.executions.increment() }
                self.logger.notice("attempt failed, retrying", metadata: [
                    "function": "\(request.task.functionName)", "fingerprint": draft.fingerprint.logValue,
                    "attempt": "\(attempt)", "retries": "\(options.retries)", "delay": "\(delay)", "error": "\(error)",
                ])
            }
            let bytes = try serializer.encode(output)
            draft.createdAt = Date()
            return (CommitEntry(draft, output: bytes), nil)
        } catch is CancellationError {
            failure = AttemptFailure(code: .cancelled, detail: "nothing was recorded", underlying: nil)
        } catch let exhausted as Attempts.Exhausted {
            let tries = exhausted.attempts > 1 ? " after \(exhausted.attempts) attempts" : ""
            let code: CashetError.Code = exhausted.last is TimeLimit.Exceeded ? .timedOut : .executionFailed
            failure = AttemptFailure(code: code, detail: "\(exhausted.last)\(tries)", underlying: exhausted.last)
        } catch {
            failure = AttemptFailure(code: (error as? CashetError)?.code ?? .executionFailed, detail: "\(error)", underlying: error)
        }
        draft.status = .failed
        draft.error = failure.detail
        draft.createdAt = Date()
        return (CommitEntry(draft, output: nil), failure)
    }
}

/// The fixed encoding of arguments and results that cross a process boundary (``ProcessExecutor``).
enum WireCodec {
    /// Encodes a resolved argument, which is `Encodable` whenever it came from a ``CashetArgument``.
    static func encode(_ value: Any) throws(CashetError) -> [UInt8] {
        guard let encodable = value as? any Encodable else {
            throw CashetError(.serialization, "an argument of type \(type(of: value)) is not Encodable, so it cannot be sent to another process")
        }
        return try BinarySerializer().encode(encodable)
    }
}
