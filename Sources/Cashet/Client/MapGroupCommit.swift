/// The group-commit state of one `map`: which inputs each distinct miss answers, the runs
/// waiting for their batch, the batch being written, and the results and failures so far.
///
/// `map`'s task group feeds it the events its children report and asks it when a batch is due;
/// it decides nothing about concurrency. One batch is written at a time, and the leases of its
/// runs are released only once it is recorded (so another process waiting on a lease finds the
/// commit when it wakes).
struct MapGroupCommit<Output: Codable & Sendable> {
    /// A run waiting for its group commit.
    struct PendingRun: Sendable {
        let call: Fingerprint
        let entry: CommitEntry
        let failure: Client.AttemptFailure?
        let lease: (any CallLease)?
    }

    private let client: Client
    private let batchSize: Int
    private let flushInterval: Duration
    private let clock = ContinuousClock()
    /// The inputs each distinct call answers (duplicates in the input share one run).
    private var slotsByCall: [Fingerprint: [Int]] = [:]
    /// The distinct misses, in input order.
    private(set) var work: [Client.MapWork] = []
    private(set) var results: [ResultRef<Output>?]
    private var pending: [PendingRun] = []
    private var oldestPending: ContinuousClock.Instant
    /// The batch being recorded while the calls go on running.
    private var committing: [PendingRun]?
    private(set) var firstFailure: CashetError?
    private(set) var storageError: CashetError?

    /// Answers the hits among `heads` (read in one snapshot) and lists the rest as work.
    init(client: Client, fingerprints: [Fingerprint], heads: [CommitHead?], accept: (CommitHead) -> Bool,
         batchSize: Int, flushInterval: Duration) {
        self.client = client
        self.batchSize = batchSize
        self.flushInterval = flushInterval
        self.oldestPending = clock.now
        results = Array(repeating: nil, count: fingerprints.count)
        for (index, head) in heads.enumerated() {
            if let head, accept(head) {
                results[index] = client.hitRef(head)
                continue
            }
            let call = fingerprints[index]
            if slotsByCall[call] == nil { work.append(Client.MapWork(call: call, input: index)) }
            slotsByCall[call, default: []].append(index)
        }
    }

    /// Nothing waits to be recorded and no batch is being written.
    var isIdle: Bool { committing == nil && pending.isEmpty }

    mutating func apply(_ event: Client.MapEvent) {
        switch event {
        case .tick:
            break
        case .committed(let commits):
            for (run, commit) in zip(committing ?? [], commits) {
                run.lease?.release()
                if let failure = run.failure {
                    client.logRecordedFailure(failure, of: commit.task, call: run.call, commit: commit)
                    firstFailure = firstFailure ?? failure.error(commit.task, recordedAs: commit)
                } else {
                    answer(run.call, with: client.ranRef(commit))
                }
            }
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
        case .resolved(let call, .success(.hit(let head))):
            answer(call, with: client.hitRef(head))
        case .resolved(let call, .success(.ran(let ran))):
            answer(call, with: client.ranRef(ran.commit))
        case .resolved(_, .failure(let error)):
            firstFailure = firstFailure ?? error
        }
    }

    private mutating func answer(_ call: Fingerprint, with ref: ResultRef<Output>?) {
        for slot in slotsByCall[call] ?? [] { results[slot] = ref }
    }

    /// The pending runs as the next batch to record, when no batch is being written and they
    /// fill a batch, have waited `flushInterval`, or no call is still running to join them.
    mutating func takeDueBatch(callsRunning: Int) -> [CommitEntry]? {
        guard committing == nil, !pending.isEmpty,
              pending.count >= batchSize || clock.now - oldestPending >= flushInterval || callsRunning == 0 else { return nil }
        committing = pending
        pending = []
        return committing!.map(\.entry)
    }

    /// Releases the leases of runs that will not be recorded now (a failed or abandoned map).
    mutating func releaseLeases() {
        for run in pending + (committing ?? []) { run.lease?.release() }
        pending = []
        committing = nil
    }
}
