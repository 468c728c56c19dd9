/// What differs between two commits.
public struct CommitDiff: Sendable, Hashable {
    /// The first commit.
    public let old: Commit
    /// The second commit.
    public let new: Commit

    /// Creates a diff of two commits.
    public init(old: Commit, new: Commit) {
        self.old = old
        self.new = new
    }

    /// The functions differ (different identity hash: source or version changed, or another function).
    public var functionChanged: Bool { old.fingerprint.functionHash != new.fingerprint.functionHash }
    /// The arguments differ (different arguments hash).
    public var argumentsChanged: Bool { old.fingerprint.argumentsHash != new.fingerprint.argumentsHash }
    /// The outputs differ (different blob, or one has none).
    public var outputChanged: Bool { old.output?.hash != new.output?.hash }
    /// One completed and the other failed.
    public var statusChanged: Bool { old.status != new.status }
    /// The function sources as a unified diff (empty when equal or when either has no source).
    public var sourceDiff: [String] {
        guard let a = old.task.source, let b = new.task.source else { return [] }
        return UnifiedDiff.lines(from: a, to: b, oldName: "\(old.task.functionName) @ \(old.hash.shortHex)",
                                 newName: "\(new.task.functionName) @ \(new.hash.shortHex)")
    }
    /// Nothing that matters for the result differs.
    public var isEmpty: Bool { !functionChanged && !argumentsChanged && !outputChanged && !statusChanged }
}
