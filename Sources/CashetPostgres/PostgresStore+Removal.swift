import Cashet
import Foundation
import PostgresNIO

/// `rm` and `gc`. One removal transaction serves both: it deletes commits (their tags and heads
/// go by cascade), points heads back at the newest remaining commit, and removes functions and
/// blobs nothing references any more. Foreign keys make a concurrent write that still needs a
/// blob fail and retry rather than lose it.
extension PostgresStore {
    public nonisolated(nonsending) func deleteCommit(_ hash: ContentHash) async throws(CashetError) -> EvictionReport {
        try await removeCommits([hash], "deleting commit \(hash.shortHex)")
    }

    public nonisolated(nonsending) func plannedRemoval(of hashes: [ContentHash]) async throws(CashetError) -> EvictionReport {
        let keys = hashes.uniqued().map(\.bytea)
        return try await perform("planning the removal of \(keys.count) commit(s)") { [logger] client, _ in
            var plan = EvictionPlan(storedBytes: 0)
            // Each commit's result, with the number of commits (listed or not) that use it.
            let rows = try await client.query("""
                SELECT c.hash, c.output, b.size, b.stored_size, (SELECT count(*) FROM cashet_commits r WHERE r.output = c.output)::int8
                FROM cashet_commits c LEFT JOIN cashet_blobs b ON b.hash = c.output WHERE c.hash = ANY(\(keys)::bytea[])
                """, logger: logger)
            for try await (hash, output, size, stored, count) in rows.decode((ByteBuffer, ByteBuffer?, Int64?, Int64?, Int64).self) {
                var use: ResultUse?
                if let output, let size, let stored {
                    use = ResultUse(hash: try ContentHash(bytea: output), size: Int(size), storedSize: Int(stored), references: Int(count))
                }
                plan.remove(try ContentHash(bytea: hash), output: use)
            }
            try plan.requireAll(of: hashes)
            return plan.report
        }
    }

    public nonisolated(nonsending) func evict(_ policy: EvictionPolicy, dryRun: Bool, progress: ProgressHandler?) async throws(CashetError) -> EvictionReport {
        let policy = try policy.validated()
        try await flushAccessLog()
        let plan = try await planEviction(policy)
        if dryRun { return plan.report }
        var report = EvictionReport()
        for start in stride(from: 0, to: plan.commits.count, by: 1000) {
            let batch = Array(plan.commits[start..<min(start + 1000, plan.commits.count)])
            report = report + (try await removeCommits(batch, "evicting \(batch.count) commit(s)"))
            progress?(start + batch.count, plan.commits.count)
        }
        return report + (try await removeUnreferencedBlobs())
    }

    /// Commits an eviction removes (older than the cutoff, then least recently used while the
    /// stored bytes exceed the limit) and what that frees.
    private func planEviction(_ policy: EvictionPolicy) async throws(CashetError) -> EvictionPlan {
        let cutoff = policy.olderThan.map(CanonicalCommit.nanoseconds) ?? Int64.min
        let sizeLimit = policy.maxStoredBytes
        return try await perform("planning an eviction") { [logger] client, _ in
            var storedBytes = 0
            if sizeLimit != nil {
                for try await total in try await client.query("SELECT coalesce(sum(stored_bytes), 0)::int8 FROM cashet_counters", logger: logger).decode(Int64.self) {
                    storedBytes = Int(total)
                }
            }
            var plan = EvictionPlan(storedBytes: storedBytes)
            var aged: [ContentHash] = []
            for try await hash in try await client.query("SELECT hash FROM cashet_commits WHERE created_ns < \(cutoff) ORDER BY created_ns, hash", logger: logger).decode(ByteBuffer.self) {
                aged.append(try ContentHash(bytea: hash))
            }
            // Blobs no commit at or after the cutoff references: freed by the age rule (or unreferenced already).
            var freed = EvictionReport()
            for try await (count, size, stored) in try await client.query("""
                SELECT count(*)::int8, coalesce(sum(size), 0)::int8, coalesce(sum(stored_size), 0)::int8 FROM cashet_blobs b
                WHERE NOT EXISTS (SELECT 1 FROM cashet_commits c WHERE c.output = b.hash AND c.created_ns >= \(cutoff))
                """, logger: logger).decode((Int64, Int64, Int64).self) {
                freed = EvictionReport(blobsRemoved: Int(count), bytesFreed: Int(size), storedBytesFreed: Int(stored))
            }
            plan.add(removed: aged, freeing: freed)
            guard plan.exceeds(sizeLimit) else { return plan }
            // What is left, least recently used first, with each blob's reference count among it.
            let rows = try await client.query("""
                SELECT c.hash, c.output, b.size, b.stored_size, count(*) OVER (PARTITION BY c.output)
                FROM cashet_commits c LEFT JOIN cashet_blobs b ON b.hash = c.output
                WHERE c.created_ns >= \(cutoff) ORDER BY c.last_used_ns, c.hash
                """, logger: logger)
            for try await (hash, output, size, stored, count) in rows.decode((ByteBuffer, ByteBuffer?, Int64?, Int64?, Int64).self) {
                guard plan.exceeds(sizeLimit) else { break }
                var use: ResultUse?
                if let output, let size, let stored {
                    use = ResultUse(hash: try ContentHash(bytea: output), size: Int(size), storedSize: Int(stored), references: Int(count))
                }
                plan.remove(try ContentHash(bytea: hash), output: use)
            }
            return plan
        }
    }

    /// Removes commits in one transaction; see the extension's comment.
    func removeCommits(_ hashes: [ContentHash], _ action: String) async throws(CashetError) -> EvictionReport {
        let keys = hashes.map(\.bytea)
        return try await transaction(action) { [self] connection, _ in
            var fingerprints: [Fingerprint] = []
            for try await fingerprint in try await connection.query("SELECT fingerprint FROM cashet_commits WHERE hash = ANY(\(keys)::bytea[])", logger: logger).decode(ByteBuffer.self) {
                fingerprints.append(try Fingerprint(bytes: fingerprint.array[...]))
            }
            guard !fingerprints.isEmpty else { return EvictionReport() }
            try await lockedHeads(fingerprints, connection)
            var delta = CounterDelta()
            var outputs: [ByteBuffer] = []
            var functions: [ByteBuffer] = []
            var touched: [ByteBuffer] = []
            let deleted = try await connection.query("""
                DELETE FROM cashet_commits WHERE hash = ANY(\(keys)::bytea[]) RETURNING fingerprint, function_hash, completed, output
                """, logger: logger)
            for try await (fingerprint, function, completed, output) in deleted.decode((ByteBuffer, ByteBuffer, Bool, ByteBuffer?).self) {
                delta.commits -= 1
                if completed { delta.completed -= 1 } else { delta.failed -= 1 }
                touched.append(fingerprint)
                functions.append(function)
                if let output { outputs.append(output) }
            }
            try await drain(connection.query("""
                INSERT INTO cashet_heads (fingerprint, commit, completed, created_ns, output, output_size)
                SELECT DISTINCT ON (fingerprint) fingerprint, hash, completed, created_ns, output, output_size FROM cashet_commits
                WHERE fingerprint = ANY(\(touched)::bytea[]) ORDER BY fingerprint, created_ns DESC, hash DESC
                ON CONFLICT (fingerprint) DO NOTHING
                """, logger: logger))
            for try await _ in try await connection.query("""
                DELETE FROM cashet_functions f WHERE f.hash = ANY(\(functions)::bytea[])
                AND NOT EXISTS (SELECT 1 FROM cashet_commits c WHERE c.function_hash = f.hash) RETURNING 1
                """, logger: logger) {
                delta.functions -= 1
            }
            let report = try await deleteBlobs(unreferencedAmong: outputs, &delta, connection)
            try await addCounters(delta, connection)
            return report + EvictionReport(commitsRemoved: -Int(delta.commits))
        }
    }

    /// Removes every blob no commit references (stored by `putBlob` and never used, or left
    /// by removals that raced with writes).
    private func removeUnreferencedBlobs() async throws(CashetError) -> EvictionReport {
        try await transaction("sweeping unreferenced blobs") { [self] connection, _ in
            var delta = CounterDelta()
            let report = try await deleteBlobs(unreferencedAmong: nil, &delta, connection)
            try await addCounters(delta, connection)
            return report
        }
    }

    /// Deletes the blobs (of `candidates`, or all) that no commit references, with their chunks.
    private func deleteBlobs(unreferencedAmong candidates: [ByteBuffer]?, _ delta: inout CounterDelta, _ connection: PostgresConnection) async throws -> EvictionReport {
        let restrict: PostgresQuery = candidates.map { "b.hash = ANY(\($0)::bytea[])" } ?? "TRUE"
        let rows = try await connection.query(PostgresQuery(unsafeSQL: """
            DELETE FROM cashet_blobs b WHERE \(restrict.sql)
            AND NOT EXISTS (SELECT 1 FROM cashet_commits c WHERE c.output = b.hash)
            RETURNING size, stored_size, chunk_count
            """, binds: restrict.binds), logger: logger)
        var report = EvictionReport()
        for try await (size, stored, chunks) in rows.decode((Int64, Int64, Int32).self) {
            delta.blobs -= 1
            delta.logicalBytes -= size
            delta.storedBytes -= stored
            if chunks > 0 { delta.chunkedBlobs -= 1 }
            report = report + EvictionReport(blobsRemoved: 1, bytesFreed: Int(size), storedBytesFreed: Int(stored))
        }
        return report
    }
}
