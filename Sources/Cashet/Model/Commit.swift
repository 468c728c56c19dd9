import Foundation

/// Whether a recorded execution produced a result.
public enum CommitStatus: String, Sendable, Codable, Hashable {
    /// The function returned; the commit has an output blob.
    case completed
    /// The function threw; the commit records the error text and is never a cache hit.
    case failed
}

/// One recorded execution of a function on some arguments.
public struct Commit: Hashable, Sendable {
    /// SHA-256 of the commit's encoded record.
    public var hash: ContentHash
    /// Which call this is.
    public var fingerprint: Fingerprint
    /// What ran.
    public var task: TaskDefinition
    /// The result blob; nil for failed commits.
    public var output: ObjectRef?
    /// Completed or failed.
    public var status: CommitStatus
    /// The error text of a failed commit.
    public var error: String?
    /// When the execution was recorded.
    public var createdAt: Date
    /// Metadata given with the call; not part of the cache key.
    public var tags: [String: String]
    /// The previous commit of the same fingerprint, if any.
    public var parent: ContentHash?

    /// Creates a commit value (the store assigns `hash` when it records it).
    public init(hash: ContentHash, fingerprint: Fingerprint, task: TaskDefinition, output: ObjectRef?, status: CommitStatus, error: String? = nil, createdAt: Date, tags: [String: String] = [:], parent: ContentHash? = nil) {
        self.hash = hash
        self.fingerprint = fingerprint
        self.task = task
        self.output = output
        self.status = status
        self.error = error
        self.createdAt = createdAt
        self.tags = tags
        self.parent = parent
    }
}

/// The newest commit of a fingerprint, reduced to what a cache hit needs.
extension Commit {
    /// The fields a store records for this commit (everything but hash, output and parent).
    package var draft: CommitDraft {
        CommitDraft(fingerprint: fingerprint, task: task, status: status, error: error, createdAt: createdAt, tags: tags)
    }
}

public struct CommitHead: Hashable, Sendable {
    /// The commit's hash.
    public var commit: ContentHash
    /// Its output blob (nil when failed).
    public var output: ObjectRef?
    /// Completed or failed.
    public var status: CommitStatus
    /// When it was recorded.
    public var createdAt: Date

    /// Creates a head.
    public init(commit: ContentHash, output: ObjectRef?, status: CommitStatus, createdAt: Date) {
        self.commit = commit
        self.output = output
        self.status = status
        self.createdAt = createdAt
    }
}

/// Which commits `log` lists.
public struct CommitQuery: Hashable, Sendable {
    /// Only commits of functions with this name.
    public var functionName: String?
    /// Only commits carrying every one of these tags.
    public var tags: [String: String]
    /// Only commits created at or after this date.
    public var since: Date?
    /// At most this many commits (newest first).
    public var limit: Int?
    /// Only commits after this position in the listing: the next page after a page whose last
    /// commit gave the cursor (``CommitCursor/init(after:)``).
    public var before: CommitCursor?

    /// Creates a query; the default lists every commit, newest first.
    public init(functionName: String? = nil, tags: [String: String] = [:], since: Date? = nil, limit: Int? = nil, before: CommitCursor? = nil) {
        self.functionName = functionName
        self.tags = tags
        self.since = since
        self.limit = limit
        self.before = before
    }

    /// Whether `commit` passes every filter of the query (all but `limit`).
    package func admits(_ commit: Commit) -> Bool {
        (functionName.map { $0 == commit.task.functionName } ?? true) && (since.map { commit.createdAt >= $0 } ?? true)
            && tags.allSatisfy { commit.tags[$0.key] == $0.value } && (before?.admits(commit) ?? true)
    }
}

/// Store-wide counters, maintained on every write so reading them costs O(1).
public struct StoreStats: Hashable, Sendable, Codable {
    /// Commits recorded.
    public var commits: Int
    /// Commits whose function returned.
    public var completed: Int
    /// Commits whose function threw.
    public var failed: Int
    /// Distinct function identities.
    public var functions: Int
    /// Distinct blobs.
    public var blobs: Int
    /// Of those, blobs kept as files (the rest are inline in the database).
    public var fileBlobs: Int
    /// Sum of blob sizes before compression.
    public var logicalBytes: Int
    /// Sum of blob sizes as stored (after compression).
    public var storedBytes: Int
    /// Bytes of the store's files in use on disk.
    public var diskBytes: Int
    /// Creation time of the oldest commit, if any.
    public var oldest: Date?
    /// Creation time of the newest commit, if any.
    public var newest: Date?
    /// Calls answered from the cache, counted by clients (``Store/noteCalls(hits:misses:)``).
    public var hits: Int
    /// Calls that ran (on a miss, or uncached), counted by clients.
    public var misses: Int
    /// `hits / (hits + misses)`, nil before any call was counted.
    public var hitRate: Double? { hits + misses > 0 ? Double(hits) / Double(hits + misses) : nil }

    /// Creates a stats value.
    public init(hits: Int = 0, misses: Int = 0, commits: Int = 0, completed: Int = 0, failed: Int = 0, functions: Int = 0, blobs: Int = 0, fileBlobs: Int = 0,
                logicalBytes: Int = 0, storedBytes: Int = 0, diskBytes: Int = 0, oldest: Date? = nil, newest: Date? = nil) {
        self.hits = hits
        self.misses = misses
        self.commits = commits
        self.completed = completed
        self.failed = failed
        self.functions = functions
        self.blobs = blobs
        self.fileBlobs = fileBlobs
        self.logicalBytes = logicalBytes
        self.storedBytes = storedBytes
        self.diskBytes = diskBytes
        self.oldest = oldest
        self.newest = newest
    }
}

/// What an eviction or deletion removed.
public struct EvictionReport: Hashable, Sendable, Codable {
    /// Commits removed.
    public var commitsRemoved: Int
    /// Blobs removed because no commit referenced them any more.
    public var blobsRemoved: Int
    /// Blob bytes (before compression) freed.
    public var bytesFreed: Int
    /// Blob bytes as stored (after compression) freed: what `stats` reports as stored.
    public var storedBytesFreed: Int
    /// Files in `objects/` that held no result (left by crashed writers) and were removed.
    public var leftoverFilesRemoved: Int

    /// Creates a report.
    public init(commitsRemoved: Int = 0, blobsRemoved: Int = 0, bytesFreed: Int = 0, storedBytesFreed: Int = 0, leftoverFilesRemoved: Int = 0) {
        self.commitsRemoved = commitsRemoved
        self.blobsRemoved = blobsRemoved
        self.bytesFreed = bytesFreed
        self.storedBytesFreed = storedBytesFreed
        self.leftoverFilesRemoved = leftoverFilesRemoved
    }

    package static func + (a: EvictionReport, b: EvictionReport) -> EvictionReport {
        EvictionReport(commitsRemoved: a.commitsRemoved + b.commitsRemoved, blobsRemoved: a.blobsRemoved + b.blobsRemoved,
                       bytesFreed: a.bytesFreed + b.bytesFreed, storedBytesFreed: a.storedBytesFreed + b.storedBytesFreed,
                       leftoverFilesRemoved: a.leftoverFilesRemoved + b.leftoverFilesRemoved)
    }
}

/// Which commits an eviction (`cashet gc`) removes. Blobs no commit references, and files left
/// by interrupted writes, are always removed too.
public struct EvictionPolicy: Hashable, Sendable {
    /// Remove commits created before this date.
    public var olderThan: Date?
    /// Then, while the stored blob bytes (``StoreStats/storedBytes``) exceed this, remove the
    /// least recently used commit: the one whose last cache hit (or creation) is oldest.
    public var maxStoredBytes: Int?

    /// Creates a policy; with neither limit, only unreferenced blobs and leftover files go.
    public init(olderThan: Date? = nil, maxStoredBytes: Int? = nil) {
        self.olderThan = olderThan
        self.maxStoredBytes = maxStoredBytes
    }
}
