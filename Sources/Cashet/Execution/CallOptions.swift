import Foundation

/// How a call runs on a miss, and what still counts as a hit. Set per function
/// (`CachedFunction(…, options:)`) or per call (`submit(…, options:)`, which replaces the
/// function's options).
public struct CallOptions: Sendable, Hashable {
    /// Further attempts after a failed one (0: run once). Only the last failure is recorded.
    public var retries: Int
    /// The wait before the first retry; it doubles before each later one.
    public var retryDelay: Duration
    /// How long one attempt may run. On expiry its task is cancelled and the attempt fails with
    /// `.timedOut`. Swift cannot stop a body that ignores cancellation: it runs on, detached,
    /// and its result is dropped (``ProcessExecutor`` kills its child process instead).
    public var timeout: Duration?
    /// A result older than this is a miss: the call runs again and the new commit has the old
    /// one as its parent.
    public var ttl: Duration?
    /// Run even when a result exists, recording a new commit with the old one as its parent.
    public var force: Bool

    /// Options; the defaults run once, without a time limit, and keep results forever.
    public init(retries: Int = 0, retryDelay: Duration = .milliseconds(100), timeout: Duration? = nil, ttl: Duration? = nil, force: Bool = false) {
        self.retries = retries
        self.retryDelay = retryDelay
        self.timeout = timeout
        self.ttl = ttl
        self.force = force
    }

    /// Rejects options that cannot be honoured.
    func validated() throws(CashetError) -> CallOptions {
        guard retries >= 0 else { throw CashetError(.invalidArgument, "retries must be zero or more, got \(retries)") }
        guard retryDelay >= .zero else { throw CashetError(.invalidArgument, "retryDelay must not be negative, got \(retryDelay)") }
        if let timeout, timeout <= .zero { throw CashetError(.invalidArgument, "timeout must be positive, got \(timeout)") }
        if let ttl, ttl < .zero { throw CashetError(.invalidArgument, "ttl must not be negative, got \(ttl)") }
        return self
    }

    /// Whether `head` answers a call that started at `start`: a completed result, within the
    /// TTL, and for a forced call one recorded after it started (by a run it waited for).
    func accepts(_ head: CommitHead, callStartedAt start: Date) -> Bool {
        guard head.status == .completed, head.output != nil else { return false }
        if force { return head.createdAt >= start }
        if let ttl { return head.createdAt >= start.addingTimeInterval(-ttl.seconds) }
        return true
    }
}

extension Duration {
    /// The duration in seconds, as a `TimeInterval`.
    package var seconds: TimeInterval {
        TimeInterval(components.seconds) + TimeInterval(components.attoseconds) / 1e18
    }
}
