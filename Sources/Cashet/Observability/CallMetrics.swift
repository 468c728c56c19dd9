import CoreMetrics

/// The swift-metrics a ``Client`` reports, made once per client (a hit only increments).
///
/// Labels: `cashet_hits` and `cashet_misses` (calls answered from the cache, calls that ran;
/// a call that waited for another run's commit counts as a hit), `cashet_executions` (runs of a
/// body, each attempt counted), `cashet_failures` (calls recorded as failed commits),
/// `cashet_stored_bytes` (result bytes of new commits, before deduplication and compression)
/// and `cashet_commit_duration` (recording a commit or a `map` batch).
struct CallMetrics: Sendable {
    let hits: Counter
    let misses: Counter
    let executions: Counter
    let failures: Counter
    let storedBytes: Counter
    let commitDuration: Timer

    init(factory: any MetricsFactory) {
        hits = Counter(label: "cashet_hits", factory: factory)
        misses = Counter(label: "cashet_misses", factory: factory)
        executions = Counter(label: "cashet_executions", factory: factory)
        failures = Counter(label: "cashet_failures", factory: factory)
        storedBytes = Counter(label: "cashet_stored_bytes", factory: factory)
        commitDuration = Timer(label: "cashet_commit_duration", factory: factory)
    }
}
