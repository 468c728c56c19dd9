import Cashet
import Foundation
import PostgresNIO

extension PostgresStore {
    public nonisolated(nonsending) func putBlob(_ bytes: [UInt8]) async throws(CashetError) -> ObjectRef {
        let blob = try PostgresBlob(bytes)
        try await transaction("storing blob \(blob.ref.hash.shortHex)") { [self] connection, _ in
            try await writeRows([], blobs: [blob], replaceNewerHeads: true, connection)
        }
        return blob.ref
    }

    public nonisolated(nonsending) func record(_ draft: CommitDraft, output: [UInt8]?) async throws(CashetError) -> Commit {
        try await recordBatch([CommitEntry(draft, output: output)])[0]
    }

    /// Records the entries in one transaction of two statements (plus chunk rows of new large
    /// results): `cashet_lock_heads` takes the fingerprints' advisory locks in key order and reads
    /// their heads; the commits are hashed here with those heads as parents; then one statement
    /// writes blobs, functions, commits, tags, heads and counters. A retry after a lost answer
    /// to COMMIT finds the commits by fingerprint and time, and returns them.
    public nonisolated(nonsending) func recordBatch(_ entries: [CommitEntry]) async throws(CashetError) -> [Commit] {
        guard !entries.isEmpty else { return [] }
        let drafts = try CommitPlanner.drafts(of: entries)
        let blobs = try entries.map { entry throws(CashetError) in try entry.output.map { bytes throws(CashetError) in try PostgresBlob(bytes) } }
        return try await transaction(CommitPlanner.action(recording: drafts)) { [self, drafts, blobs] connection, attempt in
            let heads = try await lockedHeads(drafts.map(\.fingerprint), connection)
            if attempt > 1, let recorded = try await alreadyRecorded(drafts, outputs: blobs.map { $0?.ref }, connection) {
                return recorded
            }
            let planned = CommitPlanner.plan(drafts, outputs: blobs.map { $0?.ref }, heads: heads)
            try await writeRows(planned, blobs: blobs.compactMap { $0 }, replaceNewerHeads: true, connection)
            return planned.map(\.commit)
        }
    }

    public nonisolated(nonsending) func importCommit(_ commit: Commit, output: [UInt8]?) async throws(CashetError) -> Bool {
        let planned = try CommitPlanner.importable(commit, resultSize: output?.count)
        let blob = try output.map { bytes throws(CashetError) in try PostgresBlob(bytes) }
        if let blob { try CommitPlanner.checkResult(blob.ref, of: commit) }
        let location = location
        return try await transaction("importing commit \(commit.hash.shortHex)") { [self] connection, _ in
            try await lockedHeads([commit.fingerprint], connection)
            let existing = try await connection.query("SELECT 1 FROM cashet_commits WHERE hash = \(commit.hash.bytea)", logger: logger)
            for try await _ in existing { return false }
            if blob == nil, let expected = commit.output {
                let present = try await connection.query("SELECT 1 FROM cashet_blobs WHERE hash = \(expected.hash.bytea)", logger: logger)
                var found = false
                for try await _ in present { found = true }
                guard found else { throw CommitPlanner.missingResult(of: commit, in: location) }
            }
            try await writeRows([planned], blobs: blob.map { [$0] } ?? [], replaceNewerHeads: false, connection)
            return true
        }
    }

    // MARK: - Pieces of a write transaction

    /// Changes to the store-wide counters made by one transaction.
    struct CounterDelta: Sendable {
        var commits: Int64 = 0, completed: Int64 = 0, failed: Int64 = 0, functions: Int64 = 0
        var blobs: Int64 = 0, chunkedBlobs: Int64 = 0, logicalBytes: Int64 = 0, storedBytes: Int64 = 0
    }

    /// Takes the fingerprints' transaction-scoped advisory locks, in key order (so two
    /// transactions never wait on each other in a cycle), and reads their current heads, in one
    /// round trip (`cashet_lock_heads`: the read comes after the locks, with a snapshot of its own).
    @discardableResult
    func lockedHeads(_ fingerprints: [Fingerprint], _ connection: PostgresConnection) async throws -> [Fingerprint: ContentHash] {
        let unique = Array(Set(fingerprints))
        let rows = try await connection.query("""
            SELECT fingerprint, head FROM cashet_lock_heads(\(unique.map(\.lockKey))::int8[], \(unique.map(\.bytea))::bytea[])
            """, logger: logger)
        var heads: [Fingerprint: ContentHash] = [:]
        for try await (fingerprint, commit) in rows.decode((ByteBuffer, ByteBuffer).self) {
            heads[try Fingerprint(bytes: fingerprint.array[...])] = try ContentHash(bytea: commit)
        }
        return heads
    }

    /// The commits of an earlier attempt of this batch, when it was applied (its COMMIT's answer
    /// was lost): found by fingerprint and time, matched by hash. A batch is applied whole or
    /// not at all, so finding every entry, or none, are the only outcomes.
    private func alreadyRecorded(_ drafts: [CommitDraft], outputs: [ObjectRef?], _ connection: PostgresConnection) async throws -> [Commit]? {
        let fingerprints = drafts.map(\.fingerprint.bytea)
        let times = drafts.map { CanonicalCommit.nanoseconds($0.createdAt) }
        let rows = try await connection.query("""
            SELECT hash, parent FROM cashet_commits
            WHERE fingerprint = ANY(\(fingerprints)::bytea[]) AND created_ns = ANY(\(times)::int8[])
            """, logger: logger)
        var candidates: [(hash: ContentHash, parent: ContentHash?)] = []
        for try await (hash, parent) in rows.decode((ByteBuffer, ByteBuffer?).self) {
            candidates.append((try ContentHash(bytea: hash), try parent.map { buffer throws(CashetError) in try ContentHash(bytea: buffer) }))
        }
        var found: [Commit] = []
        for (draft, output) in zip(drafts, outputs) {
            let match = candidates.first { candidate in
                ContentHash(hashing: CanonicalCommit.encodeCommit(draft, output: output, parent: candidate.parent)) == candidate.hash
            }
            guard let match else { return nil }
            found.append(Commit(hash: match.hash, fingerprint: draft.fingerprint, task: draft.task, output: output, status: draft.status,
                                error: draft.error, createdAt: draft.createdAt, tags: draft.tags, parent: match.parent))
        }
        return found
    }

    /// Writes, in one statement, the blobs the table lacks, then commits (their function
    /// records, tags and heads), and adds all of it to a counter shard; then the chunk rows of
    /// new chunked blobs. With `replaceNewerHeads` false (import), a head newer than the commit
    /// stays. Foreign keys are checked at the end of the statement, when every row is in.
    func writeRows(_ rows: [PlannedCommit], blobs: [PostgresBlob], replaceNewerHeads: Bool, _ connection: PostgresConnection) async throws {
        var unique: [ContentHash: PostgresBlob] = [:]
        for blob in blobs { unique[blob.ref.hash] = blob }
        let blobList = Array(unique.values)
        var functions: [ContentHash: [UInt8]] = [:]
        var heads: [Fingerprint: Commit] = [:]
        var tags: (keys: [String], values: [String], times: [Int64], commits: [ByteBuffer]) = ([], [], [], [])
        for row in rows {
            let commit = row.commit
            if functions[commit.fingerprint.functionHash] == nil { functions[commit.fingerprint.functionHash] = CanonicalCommit.encodeFunction(commit.task) }
            if replaceNewerHeads || heads[commit.fingerprint].map({ $0.createdAt <= commit.createdAt }) ?? true { heads[commit.fingerprint] = commit }
            for (key, value) in commit.tags {
                tags.keys.append(key)
                tags.values.append(value)
                tags.times.append(CanonicalCommit.nanoseconds(commit.createdAt))
                tags.commits.append(commit.hash.bytea)
            }
        }
        let commits = rows.map(\.commit)
        let headList = Array(heads.values)
        let newChunked = try await connection.query("""
            WITH b AS (
                INSERT INTO cashet_blobs (hash, size, stored_size, encoding, data, chunk_count)
                SELECT h, s, ss, e, CASE WHEN c > 0 THEN NULL ELSE d END, c
                FROM unnest(\(blobList.map(\.ref.hash.bytea))::bytea[], \(blobList.map { Int64($0.ref.size) })::int8[],
                            \(blobList.map { Int64($0.storedSize) })::int8[], \(blobList.map(\.encoding.rawValue))::int2[],
                            \(blobList.map { $0.encoding.contains(.chunked) ? [UInt8]().bytea : $0.pieces[0].bytea })::bytea[],
                            \(blobList.map { $0.encoding.contains(.chunked) ? Int32($0.pieces.count) : 0 })::int4[]) AS t(h, s, ss, e, d, c)
                ON CONFLICT (hash) DO NOTHING
                RETURNING hash, size, stored_size, chunk_count
            ), f AS (
                INSERT INTO cashet_functions (hash, record)
                SELECT * FROM unnest(\(functions.keys.map(\.bytea))::bytea[], \(functions.values.map(\.bytea))::bytea[])
                ON CONFLICT (hash) DO NOTHING RETURNING 1
            ), c AS (
                INSERT INTO cashet_commits (hash, fingerprint, function_hash, function_name, parent, created_ns, last_used_ns, completed, output, output_size, record)
                SELECT h, fp, substring(fp FROM 1 FOR 32), n, NULLIF(p, ''::bytea), t, t, ok, NULLIF(o, ''::bytea), NULLIF(os, -1), r
                FROM unnest(\(commits.map(\.hash.bytea))::bytea[], \(commits.map(\.fingerprint.bytea))::bytea[], \(commits.map(\.task.functionName))::text[],
                            \(commits.map { $0.parent?.bytea ?? [UInt8]().bytea })::bytea[], \(commits.map { CanonicalCommit.nanoseconds($0.createdAt) })::int8[],
                            \(commits.map { $0.status == .completed })::bool[], \(commits.map { $0.output?.hash.bytea ?? [UInt8]().bytea })::bytea[],
                            \(commits.map { Int64($0.output?.size ?? -1) })::int8[], \(rows.map(\.record.bytea))::bytea[]) AS x(h, fp, n, p, t, ok, o, os, r)
                ON CONFLICT (hash) DO NOTHING
                RETURNING completed
            ), g AS (
                INSERT INTO cashet_tags (key, value, created_ns, commit)
                SELECT * FROM unnest(\(tags.keys)::text[], \(tags.values)::text[], \(tags.times)::int8[], \(tags.commits)::bytea[])
                ON CONFLICT DO NOTHING
            ), d AS (
                INSERT INTO cashet_heads AS old (fingerprint, commit, completed, created_ns, output, output_size)
                SELECT fp, h, ok, t, NULLIF(o, ''::bytea), NULLIF(os, -1)
                FROM unnest(\(headList.map(\.fingerprint.bytea))::bytea[], \(headList.map(\.hash.bytea))::bytea[], \(headList.map { $0.status == .completed })::bool[],
                            \(headList.map { CanonicalCommit.nanoseconds($0.createdAt) })::int8[], \(headList.map { $0.output?.hash.bytea ?? [UInt8]().bytea })::bytea[],
                            \(headList.map { Int64($0.output?.size ?? -1) })::int8[]) AS x(fp, h, ok, t, o, os)
                ON CONFLICT (fingerprint) DO UPDATE SET commit = excluded.commit, completed = excluded.completed, created_ns = excluded.created_ns,
                    output = excluded.output, output_size = excluded.output_size
                WHERE \(replaceNewerHeads) OR old.created_ns < excluded.created_ns
            ), k AS (
                INSERT INTO cashet_counters AS k (shard, commits, completed, failed, functions, blobs, chunked_blobs, logical_bytes, stored_bytes)
                SELECT \(Int16.random(in: 0..<16)), (SELECT count(*) FROM c), (SELECT count(*) FROM c WHERE completed), (SELECT count(*) FROM c WHERE NOT completed),
                       (SELECT count(*) FROM f), (SELECT count(*) FROM b), (SELECT count(*) FROM b WHERE chunk_count > 0),
                       (SELECT coalesce(sum(size), 0) FROM b), (SELECT coalesce(sum(stored_size), 0) FROM b)
                \(unescaped: Self.addToCounterShard)
            )
            SELECT hash FROM b WHERE chunk_count > 0
            """, logger: logger)
        var chunked: [PostgresBlob] = []
        for try await hash in newChunked.decode(ByteBuffer.self) {
            if let blob = unique[try ContentHash(bytea: hash)] { chunked.append(blob) }
        }
        for blob in chunked { try await insertChunks(of: blob, connection) }
    }

    /// Writes a chunked blob's pieces, 16 per statement.
    private func insertChunks(of blob: PostgresBlob, _ connection: PostgresConnection) async throws {
        for start in stride(from: 0, to: blob.pieces.count, by: 16) {
            let end = min(start + 16, blob.pieces.count)
            try await drain(connection.query("""
                INSERT INTO cashet_blob_chunks (hash, index, data)
                SELECT \(blob.ref.hash.bytea), i, d FROM unnest(\(Array(Int32(start)..<Int32(end)))::int4[], \(blob.pieces[start..<end].map(\.bytea))::bytea[]) AS t(i, d)
                """, logger: logger))
        }
    }

    /// Adds a delta to one counter shard (the writes that are not commits: putBlob, removals).
    func addCounters(_ delta: CounterDelta, _ connection: PostgresConnection) async throws {
        try await drain(connection.query("""
            INSERT INTO cashet_counters AS k (shard, commits, completed, failed, functions, blobs, chunked_blobs, logical_bytes, stored_bytes)
            VALUES (\(Int16.random(in: 0..<16)), \(delta.commits), \(delta.completed), \(delta.failed), \(delta.functions), \(delta.blobs),
                    \(delta.chunkedBlobs), \(delta.logicalBytes), \(delta.storedBytes))
            \(unescaped: Self.addToCounterShard)
            """, logger: logger))
    }

    /// The eight counters summed over the shards, in `cashet_counters` column order (select
    /// them `FROM cashet_counters`): what `stats` reports and `fsck` compares with a recount.
    static let counterTotals = """
        coalesce(sum(commits), 0)::int8, coalesce(sum(completed), 0)::int8, coalesce(sum(failed), 0)::int8,
        coalesce(sum(functions), 0)::int8, coalesce(sum(blobs), 0)::int8, coalesce(sum(chunked_blobs), 0)::int8,
        coalesce(sum(logical_bytes), 0)::int8, coalesce(sum(stored_bytes), 0)::int8
        """

    /// Ends an `INSERT INTO cashet_counters AS k (shard, …)` of deltas: adds them to the shard's row.
    static let addToCounterShard = """
        ON CONFLICT (shard) DO UPDATE SET commits = k.commits + excluded.commits, completed = k.completed + excluded.completed,
            failed = k.failed + excluded.failed, functions = k.functions + excluded.functions, blobs = k.blobs + excluded.blobs,
            chunked_blobs = k.chunked_blobs + excluded.chunked_blobs, logical_bytes = k.logical_bytes + excluded.logical_bytes,
            stored_bytes = k.stored_bytes + excluded.stored_bytes
        """

    /// Reads a statement's rows to the end (so its errors surface here).
    func drain(_ rows: PostgresRowSequence) async throws {
        for try await _ in rows {}
    }
}
