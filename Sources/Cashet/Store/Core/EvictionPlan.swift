extension EvictionPolicy {
    /// Refuses a policy no store can apply (a negative size limit).
    package func validated() throws(CashetError) -> EvictionPolicy {
        if let limit = maxStoredBytes, limit < 0 {
            throw CashetError(.invalidArgument, "the size limit must be zero or more bytes, got \(limit)")
        }
        return self
    }
}

/// How a result is used when an eviction plan meets it: its sizes, and how many commits
/// referred to it before the plan began.
package struct ResultUse: Sendable {
    package let hash: ContentHash
    package let size: Int
    package let storedSize: Int
    package let references: Int

    package init(hash: ContentHash, size: Int, storedSize: Int, references: Int) {
        self.hash = hash
        self.size = size
        self.storedSize = storedSize
        self.references = references
    }
}

/// The plan of one `gc`, shared by every store: the commits to remove, in order, and what
/// removing them frees. A result is freed when the plan removes the last commit that refers to
/// it (references are simulated, so a result shared with a kept commit is not counted), so a
/// dry run reports exactly what the real run removes.
package struct EvictionPlan: Sendable {
    package private(set) var commits: [ContentHash] = []
    package private(set) var report = EvictionReport()
    /// Stored bytes left once the plan so far is carried out.
    package private(set) var storedBytesLeft: Int
    /// The results the plan has met, each with the commits still referring to it (nil: the
    /// store holds no such result).
    private var results: [ContentHash: (use: ResultUse, left: Int)?] = [:]

    /// A plan for a store whose results take `storedBytes`.
    package init(storedBytes: Int) { storedBytesLeft = storedBytes }

    /// Whether stored bytes still exceed `limit` (never, without one).
    package func exceeds(_ limit: Int?) -> Bool { limit.map { storedBytesLeft > $0 } ?? false }

    /// Counts a result that goes without a commit removal (one no commit refers to any more).
    package mutating func free(size: Int, storedSize: Int) {
        report = report + EvictionReport(blobsRemoved: 1, bytesFreed: size, storedBytesFreed: storedSize)
        storedBytesLeft -= storedSize
    }

    /// Plans the removal of `commit`, whose result is `output` (nil for a failed commit, or one
    /// whose result is gone already).
    package mutating func remove(_ commit: ContentHash, output: ResultUse?) {
        remove(commit, output: output?.hash) { _ in output }
    }

    /// Plans the removal of `commit`, whose result has the hash `output` (nil for a failed
    /// commit). `use` reads how the store holds that result (nil: it is gone), and is asked once
    /// per result: a result shared by thousands of commits is read once, not for each of them
    /// (counting its holders may itself walk them).
    package mutating func remove<Failure: Error>(_ commit: ContentHash, output: ContentHash?,
                                                  use: (ContentHash) throws(Failure) -> ResultUse?) throws(Failure) {
        commits.append(commit)
        report.commitsRemoved += 1
        guard let output else { return }
        if results[output] == nil { results[output] = .some(try use(output).map { ($0, $0.references) }) }
        guard case var known?? = results[output] else { return }
        known.left -= 1
        results[output] = known
        if known.left == 0 { free(size: known.use.size, storedSize: known.use.storedSize) }
    }

    /// Throws `.notFound` naming the first of `hashes` the plan does not remove: a commit the
    /// store does not hold (`plannedRemoval(of:)`).
    package func requireAll(of hashes: [ContentHash]) throws(CashetError) {
        let planned = Set(commits)
        if let missing = hashes.first(where: { !planned.contains($0) }) {
            throw CashetError(.notFound, "no commit \(missing.hex) in the store")
        }
    }

    /// Adds removals whose freed results a store counted itself (PostgreSQL frees the results of
    /// aged commits with one query): `freed` counts results and bytes, not commits.
    package mutating func add(removed commits: [ContentHash], freeing freed: EvictionReport) {
        self.commits += commits
        report = report + freed
        report.commitsRemoved += commits.count
        storedBytesLeft -= freed.storedBytesFreed
    }
}
