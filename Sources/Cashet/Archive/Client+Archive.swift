import Foundation

/// What an export wrote or an import added.
public struct ArchiveReport: Hashable, Sendable, Codable {
    /// Commits written (export) or added (import).
    public var commits = 0
    /// Import only: commits the store had already.
    public var commitsSkipped = 0
    /// Result blobs written (export) or carried by the imported commits (import).
    public var blobs = 0
    /// Their size before compression.
    public var blobBytes = 0

    /// Creates an empty report.
    public init() {}
}

/// `cashet export` / `cashet import`: moving a store, or part of it, as one portable file.
extension Client {
    /// Writes the commits matching `query` (all by default), with their functions' sources and
    /// their results, to a new archive at `path` (see the README's "Archives"). The file appears
    /// only when complete and fsynced; an error leaves no partial archive behind.
    ///
    /// The list of matching commits is held in memory (their results are not: each is read,
    /// compressed and written in turn).
    public nonisolated(nonsending) func exportArchive(to path: String, matching query: CommitQuery = CommitQuery(),
                                                      progress: ProgressHandler? = nil) async throws(CashetError) -> ArchiveReport {
        let commits = Array(try await store.commits(matching: query).reversed())   // oldest first: parents before children
        return try await FileSystem.replacing(path, mode: 0o600) { file throws(CashetError) in
            var writer = try ArchiveWriter(try PosixFile.duplicate(file.descriptor))
            var report = ArchiveReport()
            var functionsWritten = Set<ContentHash>()
            var blobsWritten = Set<ContentHash>()
            for (index, commit) in commits.enumerated() {
                let functionHash = commit.fingerprint.functionHash
                if functionsWritten.insert(functionHash).inserted {
                    try writer.write(.function, hash: functionHash, CanonicalCommit.encodeFunction(commit.task))
                }
                try writer.write(.commit, hash: commit.hash, CanonicalCommit.encodeCommit(commit.draft, output: commit.output, parent: commit.parent))
                if let output = commit.output, blobsWritten.insert(output.hash).inserted {
                    let bytes = try await store.blob(output.hash)
                    var body = ByteWriter(capacity: 8)
                    body.appendFixedLittleEndian(UInt64(bytes.count))
                    try writer.write(.blob, hash: output.hash, body.bytes + (try Zstd.compress(bytes, level: 3)))
                    report.blobs += 1
                    report.blobBytes += bytes.count
                }
                report.commits += 1
                progress?(index + 1, commits.count)
            }
            try writer.finish()
            return report
        }
    }

    /// Adds the commits of the archive at `path` that the store lacks, with their hashes,
    /// lineage, tags, sources and results intact: ``ArchiveFile/open(_:maxResultSize:progress:)``
    /// then ``importArchive(_:progress:)``.
    public nonisolated(nonsending) func importArchive(from path: String, maxResultSize: Int = 1 << 32,
                                                      progress: ProgressHandler? = nil) async throws(CashetError) -> ArchiveReport {
        let archive = try ArchiveFile.open(path, maxResultSize: maxResultSize) { read, total in progress?(read, 2 * total) }
        return try await importArchive(archive) { read, total in progress?(total + read, 2 * total) }
    }

    /// Adds the commits of a verified archive that the store lacks. All or nothing: the archive
    /// was checked whole when opened (every record decoded, canonical and within limits, every
    /// hash), and if applying it still fails (a full disk, a lost server), the commits this call
    /// added are removed again, leaving the store as it was. Importing the same archive again adds
    /// nothing. `progress` counts bytes of the archive read.
    public nonisolated(nonsending) func importArchive(_ archive: ArchiveFile, progress: ProgressHandler? = nil) async throws(CashetError) -> ArchiveReport {
        var reader = try archive.reader()
        var report = ArchiveReport()
        var added: [ContentHash] = []
        var sources: [ContentHash: FunctionDetails] = [:]   // function hash → source and manifest
        var pending: Commit?
        func flush(with output: [UInt8]?) async throws(CashetError) {
            guard let commit = pending else { return }
            pending = nil
            if try await store.importCommit(commit, output: output) {
                added.append(commit.hash)
                report.commits += 1
                if let output {
                    report.blobs += 1
                    report.blobBytes += output.count
                }
            } else {
                report.commitsSkipped += 1
            }
        }
        do throws(CashetError) {
            while let record = try reader.next() {
                switch record.kind {
                case .function:
                    try await flush(with: nil)
                    sources[record.hash] = try Self.archivedFunctionDetails(record, reader)
                case .commit:
                    try await flush(with: nil)
                    var commit = try Self.archivedCommit(record, reader)
                    commit.task.details = sources[commit.fingerprint.functionHash] ?? .none
                    if try await store.commit(commit.hash) == nil {
                        pending = commit
                    } else {
                        report.commitsSkipped += 1
                    }
                case .blob:
                    if let commit = pending, commit.output?.hash == record.hash {
                        try await flush(with: try Self.archivedBlob(record, reader, maxSize: archive.maxResultSize))
                    }
                case .end:
                    break
                }
                progress?(reader.bytesRead, reader.size)
            }
            try await flush(with: nil)
        } catch {
            // Newest first, so each removal finds the head it restores.
            var left: [ContentHash] = []
            var cause: CashetError?
            for hash in added.reversed() {
                do { _ = try await store.deleteCommit(hash) } catch {
                    left.append(hash)
                    cause = cause ?? error
                }
            }
            guard let cause else {
                throw CashetError(error.code, "\(error.message); the \(added.count) commit(s) added before the failure were removed again", underlying: error.underlying)
            }
            throw CashetError(error.code, "\(error.message); \(added.count - left.count) of the \(added.count) commit(s) added before the failure were removed again, but \(left.count) could not be (\(cause.message)): run the import again once the cause is fixed (it adds only what is missing), or `cashet rm` them", underlying: error.underlying)
        }
        return report
    }

    /// Reads a whole archive and checks it: its checksum and length, every record's SHA-256, that
    /// every record decodes, is canonical (re-encodes to the same bytes) and within the limits every
    /// store enforces, that every commit has its function and result, and that no result exceeds
    /// `maxResultSize`. Changes nothing; returns the archive's size. Synchronous, so the fuzzer
    /// drives it directly.
    static func verifyArchive(at path: String, maxResultSize: Int, progress: ProgressHandler? = nil) throws(CashetError) -> Int {
        try ArchiveFile.open(path, maxResultSize: maxResultSize, progress: progress).size
    }

    /// One pass over an archive, checking everything ``verifyArchive(at:maxResultSize:progress:)`` lists.
    static func verify(_ reader: inout ArchiveReader, maxResultSize: Int, progress: ProgressHandler?) throws(CashetError) {
        // The order the importer relies on (and the exporter writes): a function before its
        // commits; a commit's result right after it, unless an earlier commit carried it.
        var functions = Set<ContentHash>()
        var blobSizes: [ContentHash: Int] = [:]
        var awaited: (commit: ContentHash, output: ObjectRef)?
        while let record = try reader.next() {
            if let (commit, output) = awaited {
                guard record.kind == .blob, record.hash == output.hash else {
                    throw reader.damaged("the result of commit \(commit.shortHex) does not follow it")
                }
            }
            switch record.kind {
            case .function:
                _ = try Self.archivedFunctionDetails(record, reader)
                functions.insert(record.hash)
            case .commit:
                let commit = try Self.archivedCommit(record, reader)
                guard functions.contains(commit.fingerprint.functionHash) else {
                    throw reader.damaged("commit \(commit.hash.shortHex) comes before its function record")
                }
                if let output = commit.output {
                    if let size = blobSizes[output.hash] {
                        guard size == output.size else { throw reader.damaged("commit \(commit.hash.shortHex) records a \(output.size)-byte result of \(size) bytes") }
                    } else {
                        awaited = (commit.hash, output)
                    }
                }
            case .blob:
                let size = try Self.archivedBlob(record, reader, maxSize: maxResultSize).count
                guard let (commit, output) = awaited else {
                    throw reader.damaged("result \(record.hash.shortHex) does not follow a commit that names it")
                }
                guard size == output.size else { throw reader.damaged("commit \(commit.shortHex) records a \(output.size)-byte result of \(size) bytes") }
                awaited = nil
                blobSizes[record.hash] = size
            case .end:
                break
            }
            progress?(reader.bytesRead, reader.size)
        }
        if let (commit, _) = awaited { throw reader.damaged("commit \(commit.shortHex) lacks its result record") }
    }

    /// Runs a decoding step, reporting its failure as damage of the archive.
    private static func archived<T>(_ reader: borrowing ArchiveReader, _ body: () throws(CashetError) -> T) throws(CashetError) -> T {
        do { return try body() } catch { throw reader.damaged(error.message) }
    }

    /// A commit record, checked: its SHA-256, that it decodes, and that it is exactly the record
    /// a store would write for it (canonical, within limits), so applying it cannot fail on it.
    private static func archivedCommit(_ record: ArchiveReader.Record, _ reader: borrowing ArchiveReader) throws(CashetError) -> Commit {
        guard SHA256Hasher.hash(record.body) == record.hash else {
            throw reader.damaged("commit \(record.hash.shortHex) does not match its SHA-256")
        }
        return try archived(reader) { () throws(CashetError) -> Commit in
            let commit = try CanonicalCommit.decodeCommit(hash: record.hash, record.body, details: .none)
            _ = try CanonicalCommit.importableRecord(of: commit)
            return commit
        }
    }

    /// A function record's source and manifest, checked: the record decodes and is canonical.
    private static func archivedFunctionDetails(_ record: ArchiveReader.Record, _ reader: borrowing ArchiveReader) throws(CashetError) -> FunctionDetails {
        try archived(reader) { () throws(CashetError) in try CanonicalCommit.decodeCanonicalFunction(record.body).details }
    }

    private static func archivedBlob(_ record: ArchiveReader.Record, _ reader: borrowing ArchiveReader, maxSize: Int) throws(CashetError) -> [UInt8] {
        let size = try archived(reader) { () throws(CashetError) -> Int in
            var body = ByteReader(record.body, what: "archived result")
            let size = try body.readFixedLittleEndian()
            // zstd expands at most ~32768× (a 128 KiB block as a 4-byte run): a larger claim is a lie
            // that would only serve to allocate memory.
            guard size <= UInt64(record.body.count - 8) * 32_768 + (1 << 17) else {
                throw CashetError(.corruptData, "result \(record.hash.shortHex) claims \(size) bytes, more than its frame can hold")
            }
            return Int(size)
        }
        guard size <= maxSize else {
            throw CashetError(.limitExceeded, "result \(record.hash.shortHex) in \(reader.path) is \(size) bytes, above the import limit of \(maxSize) bytes; nothing was imported")
        }
        let bytes = try archived(reader) { () throws(CashetError) in try Zstd.decompress(record.body[8...], expectedSize: size) }
        guard SHA256Hasher.hash(bytes) == record.hash else {
            throw reader.damaged("result \(record.hash.shortHex) does not match its SHA-256")
        }
        return bytes
    }
}
