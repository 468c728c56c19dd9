import Cashet
import Foundation

// The JSON the CLI prints: one Encodable type per shape, written by `Output.json`. Property
// names become snake-case keys (`functionHash` → `function_hash`), sorted; a `@Nullable`
// property is written as `null` when absent, where Codable would leave its key out.

/// An optional written as `null` when absent, so the key is always there.
@propertyWrapper
struct Nullable<Value: Encodable>: Encodable {
    var wrappedValue: Value?

    init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

/// A result reference: `{hash, size}`.
struct ResultJSON: Encodable {
    let hash: String
    let size: Int

    init?(_ output: ObjectRef?) {
        guard let output else { return nil }
        (hash, size) = (output.hash.hex, output.size)
    }
}

/// A commit, as `log --json`, `history --json` and `show --json` print it.
struct CommitJSON: Encodable {
    let hash: String
    let function: String
    let functionHash: String
    let fingerprint: String
    let status: String
    let createdAt: String
    let args: String
    let tags: [String: String]
    @Nullable var parent: String?
    @Nullable var error: String?
    let cached: Bool
    @Nullable var output: ResultJSON?
    /// `show` only: the function's source (null when not recorded) and version.
    var source: Nullable<String>?
    var version: String?
    /// `show` of a result hash only: every commit that produced it, newest first.
    var resultProducers: [String]?
    /// `show` only: what went into the function's identity (null when not recorded).
    var identity: Nullable<IdentityManifest>?

    init(_ commit: Commit, withSource: Bool = false) {
        hash = commit.hash.hex
        function = commit.task.functionName
        functionHash = commit.fingerprint.functionHash.hex
        fingerprint = commit.fingerprint.description
        status = commit.status.rawValue
        createdAt = Output.isoString(commit.createdAt)
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

/// `stats --json`.
struct StatsJSON: Encodable {
    let commits, completed, failed, functions, blobs, fileBlobs: Int
    let logicalBytes, storedBytes, diskBytes: Int
    @Nullable var oldest: String?
    @Nullable var newest: String?
    let hits, misses: Int
    @Nullable var hitRate: Double?

    init(_ stats: StoreStats) {
        (commits, completed, failed, functions, blobs, fileBlobs) = (stats.commits, stats.completed, stats.failed, stats.functions, stats.blobs, stats.fileBlobs)
        (logicalBytes, storedBytes, diskBytes) = (stats.logicalBytes, stats.storedBytes, stats.diskBytes)
        oldest = stats.oldest.map(Output.isoString)
        newest = stats.newest.map(Output.isoString)
        (hits, misses) = (stats.hits, stats.misses)
        hitRate = stats.hitRate
    }
}

/// `gc --json` and `rm --json`: what was (or, with `--dry-run`, would be) removed.
struct RemovalJSON: Encodable {
    let dryRun: Bool
    /// `rm` only: the commits named, in full.
    var commits: [String]?
    let commitsRemoved, blobsRemoved, bytesFreed, storedBytesFreed, leftoverFilesRemoved: Int

    init(dryRun: Bool, commits: [String]? = nil, report: EvictionReport) {
        self.dryRun = dryRun
        self.commits = commits
        (commitsRemoved, blobsRemoved, bytesFreed) = (report.commitsRemoved, report.blobsRemoved, report.bytesFreed)
        (storedBytesFreed, leftoverFilesRemoved) = (report.storedBytesFreed, report.leftoverFilesRemoved)
    }
}

/// `fsck --json`.
struct FsckJSON: Encodable {
    struct Problem: Encodable {
        let kind, subject, detail: String
        let damage: Bool

        init(_ problem: IntegrityReport.Problem) {
            (kind, subject, detail, damage) = (problem.kind.rawValue, problem.subject, problem.detail, problem.kind.isDamage)
        }
    }

    let commitsChecked, blobsChecked, bytesVerified, filesChecked: Int
    let problems: [Problem]
    let repairs: [String]
    let unrepaired: [Problem]
    let damaged: Bool

    init(_ report: IntegrityReport, damaged: Bool) {
        (commitsChecked, blobsChecked, bytesVerified, filesChecked) = (report.commitsChecked, report.blobsChecked, report.bytesVerified, report.filesChecked)
        problems = report.problems.map(Problem.init)
        repairs = report.repairs
        unrepaired = report.unrepaired.map(Problem.init)
        self.damaged = damaged
    }
}

/// `diff --json`: each compared field as `{a, b}`.
struct DiffJSON: Encodable {
    struct Pair<Value: Encodable>: Encodable {
        let a, b: Value
    }

    let a, b: String
    let functionChanged: Bool
    let function: Pair<String>
    let functionHash: Pair<String>
    let sourceDiff: [String]
    let argsChanged: Bool
    let args: Pair<String>
    let outputChanged: Bool
    let output: Pair<Nullable<ResultJSON>>
    let statusChanged: Bool
    let status: Pair<String>
    let identityChanges: [IdentityChange]

    init(_ diff: CommitDiff) {
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

/// `migrate --json`.
struct MigrationJSON: Encodable {
    let fromSchema, toSchema, commitsMigrated, blobsMigrated: Int
    let previousFile: String
}

/// `compact --json`.
struct CompactionJSON: Encodable {
    let bytesBefore, bytesAfter, bytesFreed: Int
}

/// `export --json` and `import --json`.
struct ArchiveJSON: Encodable {
    let file: String
    let commits, commitsSkipped, blobs, blobBytes: Int
}
