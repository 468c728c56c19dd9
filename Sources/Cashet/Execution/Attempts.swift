import Foundation

/// Runs a request with a call's retries and time limit.
enum Attempts {
    /// The last failure, after every attempt failed.
    struct Exhausted: Error {
        let last: any Error
        let attempts: Int
    }

    /// Runs `request` on `executor` until it succeeds or `options.retries` further attempts
    /// failed (throwing ``Exhausted``), waiting `retryDelay`, doubling, between attempts.
    /// Cancellation of the calling task throws `CancellationError` at once.
    nonisolated(nonsending) static func run<Output: Sendable>(_ request: ExecutionRequest<Output>, on executor: any Executor, options: CallOptions) async throws -> Output {
        var delay = options.retryDelay
        var attempt = 1
        while true {
            do {
                return try await TimeLimit.run(options.timeout) { try await executor.execute(request) }
            } catch {
                if error is CancellationError || Task.isCancelled { throw CancellationError() }
                guard attempt <= options.retries else { throw Exhausted(last: error, attempts: attempt) }
                attempt += 1
                try await Task.sleep(for: delay)
                delay *= 2
            }
        }
    }
}
