import Foundation

// The JSON the CLI prints and `cashet serve` answers: one Encodable type per shape, written
// by `HumanOutput.jsonLine`. Property
// names become snake-case keys (`functionHash` → `function_hash`), sorted; a `@Nullable`
// property is written as `null` when absent, where Codable would leave its key out.

/// An optional written as `null` when absent, so the key is always there.
@propertyWrapper
package struct Nullable<Value: Encodable>: Encodable {
    package var wrappedValue: Value?

    package init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

/// A result reference: `{hash, size}`.
package struct ResultJSON: Encodable {
    package let hash: String
    package let size: Int

    package init?(_ output: ObjectRef?) {
        guard let output else { return nil }
        (hash, size) = (output.hash.hex, output.size)
    }
}

/// A commit, as `log --json`, `history --json` and `show --json` print it.
package struct CommitJSON: Encodable {
    package let hash: String
    package let function: String
    package let functionHash: String
    package let fingerprint: String
    package let status: String
    package let createdAt: String
    package let args: String
    package let tags: [String: String]
    @Nullable package var parent: String?
    @Nullable package var error: String?
    package let cached: Bool
    @Nullable package var output: ResultJSON?
    /// `show` only: the function's source (null when not recorded) and version.
    package var source: Nullable<String>?
    package var version: String?
    /// `show` of a result hash only: every commit that produced it, newest first.
    package var resultProducers: [String]?
    /// `show` only: what went into the function's identity (null when not recorded).
    package var identity: Nullable<IdentityManifest>?
    /// `cashet serve` only: the parent chain (newest first) and the results the call took.
    package var lineage: LineageJSON?

    package init(_ commit: Commit, withSource: Bool = false) {
        hash = commit.hash.hex
        function = commit.task.functionName
        functionHash = commit.fingerprint.functionHash.hex
        fingerprint = commit.fingerprint.description
        status = commit.status.rawValue
        createdAt = HumanOutput.isoString(commit.createdAt)
        args = commit.task.argumentsSnapshot
        tags = commit.tags
        parent = commit.parent?.hex
        error = commit.error
        cached = commit.task.cacheable
        output = ResultJSON(commit.output)
        if withSource {
            source = Nullable(wrappedValue: commit.task.source)
            version = commit.task.functionVersion
            identity = Nullable(wrappedValue: commit.task.identityManifest)
        }
    }
}

/// A commit's lineage as `cashet serve`'s commit endpoint gives it.
package struct LineageJSON: Encodable {
    /// Parent hashes, newest first.
    package let parents: [String]
    /// Whether the chain goes on beyond `parents`.
    package let moreParents: Bool
    /// The result hashes the call took as `ResultRef` arguments.
    package let inputs: [String]

    package init(_ lineage: Lineage) {
        parents = lineage.parents.map(\.hash.hex)
        moreParents = lineage.moreParents
        inputs = lineage.inputs.map(\.hex)
    }
}

/// `stats --json`.
package struct StatsJSON: Encodable {
    package let commits, completed, failed, functions, blobs, fileBlobs: Int
    package let logicalBytes, storedBytes, diskBytes: Int
    @Nullable package var oldest: String?
    @Nullable package var newest: String?
    package let hits, misses: Int
    @Nullable package var hitRate: Double?

    package init(_ stats: StoreStats) {
        (commits, completed, failed, functions, blobs, fileBlobs) = (stats.commits, stats.completed, stats.failed, stats.functions, stats.blobs, stats.fileBlobs)
        (logicalBytes, storedBytes, diskBytes) = (stats.logicalBytes, stats.storedBytes, stats.diskBytes)
        oldest = stats.oldest.map(HumanOutput.isoString)
        newest = stats.newest.map(HumanOutput.isoString)
        (hits, misses) = (stats.hits, stats.misses)
        hitRate = stats.hitRate
    }
}

/// `gc --json` and `rm --json`: what was (or, with `--dry-run`, would be) removed.
package struct RemovalJSON: Encodable {
    package let dryRun: Bool
    /// `rm` only: the commits named, in full.
    package var commits: [String]?
    package let commitsRemoved, blobsRemoved, bytesFreed, storedBytesFreed, leftoverFilesRemoved: Int

    package init(dryRun: Bool, commits: [String]? = nil, report: EvictionReport) {
        self.dryRun = dryRun
        self.commits = commits
        (commitsRemoved, blobsRemoved, bytesFreed) = (report.commitsRemoved, report.blobsRemoved, report.bytesFreed)
        (storedBytesFreed, leftoverFilesRemoved) = (report.storedBytesFreed, report.leftoverFilesRemoved)
    }
}

/// `fsck --json`.
package struct FsckJSON: Encodable {
    package struct Problem: Encodable {
        package let kind, subject, detail: String
        package let damage: Bool

        package init(_ problem: IntegrityReport.Problem) {
            (kind, subject, detail, damage) = (problem.kind.rawValue, problem.subject, problem.detail, problem.kind.isDamage)
        }
    }

    package let commitsChecked, blobsChecked, bytesVerified, filesChecked: Int
    package let problems: [Problem]
    package let repairs: [String]
    package let unrepaired: [Problem]
    package let damaged: Bool

    package init(_ report: IntegrityReport, damaged: Bool) {
        (commitsChecked, blobsChecked, bytesVerified, filesChecked) = (report.commitsChecked, report.blobsChecked, report.bytesVerified, report.filesChecked)
        problems = report.problems.map(Problem.init)
        repairs = report.repairs
        unrepaired = report.unrepaired.map(Problem.init)
        self.damaged = damaged
    }
}

/// `diff --json`: each compared field as `{a, b}`.
package struct DiffJSON: Encodable {
    package struct Pair<Value: Encodable>: Encodable {
        package let a, b: Value
    }

    package let a, b: String
    package let functionChanged: Bool
    package let function: Pair<String>
    package let functionHash: Pair<String>
    package let sourceDiff: [String]
    package let argsChanged: Bool
    package let args: Pair<String>
    package let outputChanged: Bool
    package let output: Pair<Nullable<ResultJSON>>
    package let statusChanged: Bool
    package let status: Pair<String>
    package let identityChanges: [IdentityChange]

    package init(_ diff: CommitDiff) {
        let (old, new) = (diff.old, diff.new)
        (a, b) = (old.hash.hex, new.hash.hex)
        functionChanged = diff.functionChanged
        function = Pair(a: old.task.functionName, b: new.task.functionName)
        functionHash = Pair(a: old.fingerprint.functionHash.hex, b: new.fingerprint.functionHash.hex)
        sourceDiff = diff.sourceDiff
        argsChanged = diff.argumentsChanged
        args = Pair(a: old.task.argumentsSnapshot, b: new.task.argumentsSnapshot)
        outputChanged = diff.outputChanged
        output = Pair(a: Nullable(wrappedValue: ResultJSON(old.output)), b: Nullable(wrappedValue: ResultJSON(new.output)))
        statusChanged = diff.statusChanged
        status = Pair(a: old.status.rawValue, b: new.status.rawValue)
        identityChanges = diff.identityChanges
    }
}
