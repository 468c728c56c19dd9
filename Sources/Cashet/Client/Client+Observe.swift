import CoreMetrics
import Foundation

/// What the client counts (swift-metrics, and the store's hit and miss counts).
extension Client {
    /// Counts calls answered from the cache and calls that ran.
    func noteCalls(hits: Int = 0, misses: Int = 0) {
        if hits > 0 { metrics.hits.increment(by: Int64(hits)) }
        if misses > 0 { metrics.misses.increment(by: Int64(misses)) }
        store.noteCalls(hits: hits, misses: misses)
    }

    /// Logs a call recorded as a failed commit (the `submit` and `map` paths both end here).
    func logRecordedFailure(_ failure: AttemptFailure, of task: TaskDefinition, call: Fingerprint, commit: Commit) {
        logger.warning("call recorded as failed", metadata: [
            "function": "\(task.functionName)", "fingerprint": call.logValue, "commit": "\(commit.hash.shortHex)", "error": "\(failure.detail)",
        ])
    }

    /// Counts what a write that began at `start` recorded: its time, the result bytes of its new
    /// commits, and its failed commits.
    func noteRecorded(_ entries: [CommitEntry], since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        metrics.commitDuration.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        let bytes = entries.reduce(0) { $0 + ($1.output?.count ?? 0) }
        if bytes > 0 { metrics.storedBytes.increment(by: Int64(bytes)) }
        let failed = entries.count { $0.draft.status == .failed }
        if failed > 0 { metrics.failures.increment(by: Int64(failed)) }
    }
}
