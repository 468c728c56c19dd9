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
    /// Cancellation of the calling task throws `CancellationError` at once. `report` is called
    /// as each attempt starts (with no error) and when one fails with a retry to come (with the
    /// failed attempt's number, its error and the wait before the next).
    nonisolated(nonsending) static func run<Output: Sendable>(_ request: ExecutionRequest<Output>, on executor: any CallExecutor, options: CallOptions,
                                                              report: (_ attempt: Int, _ error: (any Error)?, _ delay: Duration) -> Void) async throws -> Output {
        var delay = options.retryDelay
        var attempt = 1
        while true {
            report(attempt, nil, .zero)
            do {
                return try await TimeLimit.run(options.timeout) { try await executor.execute(request) }
            } catch {
                if error is CancellationError || Task.isCancelled { throw CancellationError() }
                guard attempt <= options.retries else { throw Exhausted(last: error, attempts: attempt) }
                report(attempt, error, delay)
                attempt += 1
                try await Task.sleep(for: delay)
                delay *= 2
            }
        }
    }
}
