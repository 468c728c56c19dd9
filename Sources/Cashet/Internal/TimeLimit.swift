import Synchronization

/// A body against a timer, for callers that must not wait past a limit: an execution attempt's
/// `timeout`, and each operation of a network store within its retry budget. On the limit the
/// body's task is cancelled and not waited for (a task group would wait for it, and a body
/// that ignores cancellation, or a statement stuck on a dead connection, would hold the caller).
package enum TimeLimit {
    /// Thrown when the body passes its time limit.
    package struct Exceeded: Error, CustomStringConvertible {
        package let limit: Duration
        package var description: String { "timed out after \(limit)" }
    }

    /// Runs `body` in a task of its own and returns its result, or throws ``Exceeded``
    /// after `limit` (cancelling the task), or `CancellationError` as soon as the caller is
    /// cancelled, whichever comes first; without a limit, just awaits `body`.
    package nonisolated(nonsending) static func run<T: Sendable>(_ limit: Duration?, _ body: nonisolated(nonsending) @escaping @Sendable () async throws -> T) async throws -> T {
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
                if !Task.isCancelled { self.finish(.failure(Exceeded(limit: limit))) }
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
