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

/// Reports progress: work done and total, in units the operation chooses (commits, bytes).
public typealias ProgressHandler = @Sendable (_ done: Int, _ total: Int) -> Void

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
        return try await FileSystem.replacing(path) { temporary throws(CashetError) in
            var writer = try ArchiveWriter(try PosixFile.createOrTruncate(temporary, mode: 0o600))
            var report = ArchiveReport()
            var functionsWritten = Set<ContentHash>()
            var blobsWritten = Set<ContentHash>()
            for (index, commit) in commits.enumerated() {
                let functionHash = commit.fingerprint.functionHash
                if functionsWritten.insert(functionHash).inserted {
                    try writer.write(.function, hash: functionHash, StoreRecords.encodeFunction(commit.task))
                }
                try writer.write(.commit, hash: commit.hash, StoreRecords.encodeCommit(commit.draft, output: commit.output, parent: commit.parent))
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
    /// lineage, tags and results intact. The whole archive is verified first (its checksum, and
    /// every commit and result against its SHA-256): a damaged archive is refused with
    /// `.damagedArchive` before the store is touched. Importing the same archive again adds nothing.
    /// A result larger than `maxResultSize` bytes (4 GiB by default) refuses the whole archive with
    /// `.limitExceeded`, also before anything changes: a valid archive can still decompress into far
    /// more than its own size. `progress` counts bytes of the archive read (it is read twice).
    public nonisolated(nonsending) func importArchive(from path: String, maxResultSize: Int = 1 << 32,
                                                      progress: ProgressHandler? = nil) async throws(CashetError) -> ArchiveReport {
        // Pass 1: verify everything, change nothing.
        let size = try Self.verifyArchive(at: path, maxResultSize: maxResultSize) { read, total in progress?(read, 2 * total) }
        let total = 2 * size

        // Pass 2: apply, commit by commit; each is checked again as it is added.
        var reader = try ArchiveReader.open(path)
        var report = ArchiveReport()
        var sources: [ContentHash: String?] = [:]
        var pending: Commit?
        func flush(with output: [UInt8]?) async throws(CashetError) {
            guard let commit = pending else { return }
            pending = nil
            if try await store.importCommit(commit, output: output) {
                report.commits += 1
                if let output {
                    report.blobs += 1
                    report.blobBytes += output.count
                }
            } else {
                report.commitsSkipped += 1
            }
        }
        while let record = try reader.next() {
            switch record.kind {
            case .function:
                try await flush(with: nil)
                sources[record.hash] = try StoreRecords.decodeFunctionSource(record.body)
            case .commit:
                try await flush(with: nil)
                let commit = try Self.archivedCommit(record, source: sources[record.hash] ?? nil, reader)
                if try await store.commit(commit.hash) == nil {
                    pending = commit
                } else {
                    report.commitsSkipped += 1
                }
            case .blob:
                if let commit = pending, commit.output?.hash == record.hash {
                    try await flush(with: try Self.archivedBlob(record, reader, maxSize: maxResultSize))
                }
            case .end:
                break
            }
            progress?(size + reader.bytesRead, total)
        }
        try await flush(with: nil)
        return report
    }

    /// Reads a whole archive and checks it: its checksum and length, every record's SHA-256, that
    /// every commit has its function and result, and that no result exceeds `maxResultSize`.
    /// Changes nothing; returns the archive's size. Synchronous, so the fuzzer drives it directly.
    static func verifyArchive(at path: String, maxResultSize: Int, progress: ProgressHandler? = nil) throws(CashetError) -> Int {
        var reader = try ArchiveReader.open(path)
        var functions = Set<ContentHash>()
        var blobs = Set<ContentHash>()
        var needed: [(commit: ContentHash, function: ContentHash, output: ContentHash?)] = []
        while let record = try reader.next() {
            switch record.kind {
            case .function:
                _ = try Self.archived(reader) { () throws(CashetError) in try StoreRecords.decodeFunctionSource(record.body) }
                functions.insert(record.hash)
            case .commit:
                let commit = try Self.archivedCommit(record, source: nil, reader)
                needed.append((commit.hash, commit.fingerprint.functionHash, commit.output?.hash))
            case .blob:
                _ = try Self.archivedBlob(record, reader, maxSize: maxResultSize)
                blobs.insert(record.hash)
            case .end:
                break
            }
            progress?(reader.bytesRead, reader.size)
        }
        for entry in needed {
            guard functions.contains(entry.function), entry.output.map(blobs.contains) ?? true else {
                throw reader.damaged("commit \(entry.commit.shortHex) lacks its function or result record")
            }
        }
        return reader.size
    }

    /// Runs a decoding step, reporting its failure as damage of the archive.
    private static func archived<T>(_ reader: borrowing ArchiveReader, _ body: () throws(CashetError) -> T) throws(CashetError) -> T {
        do { return try body() } catch { throw reader.damaged(error.message) }
    }

    private static func archivedCommit(_ record: ArchiveReader.Record, source: String?, _ reader: borrowing ArchiveReader) throws(CashetError) -> Commit {
        guard SHA256Hasher.hash(record.body) == record.hash else {
            throw reader.damaged("commit \(record.hash.shortHex) does not match its SHA-256")
        }
        return try archived(reader) { () throws(CashetError) in try StoreRecords.decodeCommit(hash: record.hash, record.body, source: source) }
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
