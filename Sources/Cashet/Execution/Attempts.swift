import Foundation
import Synchronization

/// Runs a request with a call's retries and time limit.
enum Attempts {
    /// Thrown when an attempt passes its time limit.
    struct TimeLimitExceeded: Error, CustomStringConvertible {
        let limit: Duration
        var description: String { "timed out after \(limit)" }
    }

    /// The last failure, after every attempt failed.
    struct Exhausted: Error {
        let last: any Error
        let attempts: Int
    }

    /// Runs `request` on `executor` until it succeeds or `options.retries` further attempts
    /// failed (throwing ``Exhausted``), waiting `retryDelay`, doubling, between attempts.
    /// Cancellation of the calling task throws `CancellationError` at once.
    static func run<Output: Sendable>(_ request: ExecutionRequest<Output>, on executor: any Executor, options: CallOptions) async throws -> Output {
        var delay = options.retryDelay
        var attempt = 1
        while true {
            do {
                return try await withTimeLimit(options.timeout) { try await executor.execute(request) }
            } catch {
                if error is CancellationError || Task.isCancelled { throw CancellationError() }
                guard attempt <= options.retries else { throw Exhausted(last: error, attempts: attempt) }
                attempt += 1
                try await Task.sleep(for: delay)
                delay *= 2
            }
        }
    }

    /// Runs `body` in a task of its own and returns its result, or throws ``TimeLimitExceeded``
    /// after `limit` (cancelling the task), or `CancellationError` as soon as the caller is
    /// cancelled, whichever comes first; without a limit, just awaits `body`.
    static func withTimeLimit<T: Sendable>(_ limit: Duration?, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        guard let limit else { return try await body() }
        let race = Race<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                race.start(continuation, limit: limit, body)
            }
        } onCancel: {
            race.finish(.failure(CancellationError()))
        }
    }

    /// A body against a timer: the first to finish resumes the caller, once.
    private final class Race<T: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<T, any Error>?
            var outcome: Result<T, any Error>?   // the first finish; may come before `start` (cancelled early)
            var tasks: [Task<Void, Never>] = []
        }
        private let state = Locked(State())

        func start(_ continuation: CheckedContinuation<T, any Error>, limit: Duration, _ body: @escaping @Sendable () async throws -> T) {
            let early = state.withLock { state -> Result<T, any Error>? in
                if let outcome = state.outcome { return outcome }
                state.continuation = continuation
                return nil
            }
            if let early { return continuation.resume(with: early) }
            let work = Task {
                do { self.finish(.success(try await body())) } catch { self.finish(.failure(error)) }
            }
            let timer = Task {
                try? await Task.sleep(for: limit)
                if !Task.isCancelled { self.finish(.failure(TimeLimitExceeded(limit: limit))) }
            }
            let finishedAlready = state.withLock { state -> Bool in
                state.tasks = [work, timer]
                return state.outcome != nil
            }
            if finishedAlready { work.cancel(); timer.cancel() }
        }

        func finish(_ outcome: Result<T, any Error>) {
            let (continuation, tasks) = state.withLock { state -> (CheckedContinuation<T, any Error>?, [Task<Void, Never>]) in
                if state.outcome != nil { return (nil, []) }
                state.outcome = outcome
                defer { state.continuation = nil }
                return (state.continuation, state.tasks)
            }
            for task in tasks { task.cancel() }
            continuation?.resume(with: outcome)
        }
    }
}
