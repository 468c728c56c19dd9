import Cashet
import Foundation
import PostgresNIO

extension PostgresStore {
    public nonisolated(nonsending) func head(for fingerprint: Fingerprint) async throws(CashetError) -> CommitHead? {
        try await heads(for: [fingerprint])[0]
    }

    public nonisolated(nonsending) func heads(for fingerprints: [Fingerprint]) async throws(CashetError) -> [CommitHead?] {
        let keys = fingerprints.map(\.bytea)
        let action = fingerprints.count == 1 ? "looking up fingerprint \(fingerprints[0])" : "looking up \(fingerprints.count) fingerprints"
        let found = try await perform(action) { [logger] client, _ in
            let rows = try await client.query("""
                SELECT fingerprint, commit, completed, created_ns, output, output_size FROM cashet_heads
                WHERE fingerprint = ANY(\(keys)::bytea[])
                """, logger: logger)
            var heads: [Fingerprint: CommitHead] = [:]
            for try await (fingerprint, commit, completed, created, output, size) in rows.decode((ByteBuffer, ByteBuffer, Bool, Int64, ByteBuffer?, Int64?).self) {
                var ref: ObjectRef?
                if let output, let size { ref = ObjectRef(hash: try ContentHash(bytea: output), size: Int(size)) }
                heads[try Fingerprint(bytes: fingerprint.array[...])] = CommitHead(commit: try ContentHash(bytea: commit), output: ref,
                                                                                   status: completed ? .completed : .failed,
                                                                                   createdAt: CanonicalCommit.date(nanoseconds: created))
            }
            return heads
        }
        let now = CanonicalCommit.nanoseconds(Date())
        var flushDue = false
        for head in found.values where accessLog.note(head.commit, at: now) { flushDue = true }
        if flushDue { flushAccessLogInBackground() }
        return fingerprints.map { found[$0] }
    }

    public func noteCalls(hits: Int, misses: Int) {
        if accessLog.count(hits: hits, misses: misses) { flushAccessLogInBackground() }
    }

    private func flushAccessLogInBackground() {
        Task { [self] in
            do throws(CashetError) { try await flushAccessLog() } catch {
                logger.warning("hit times and call counts not written; kept for the next flush", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Writes the pending hit times to `cashet_commits.last_used_ns` (the order of `gc --max-size`)
    /// and adds the call counts to `cashet_usage`; on failure they are kept for the next flush.
    func flushAccessLog() async throws(CashetError) {
        let pending = accessLog.drain()
        guard !pending.isEmpty else { return }
        let hashes = pending.times.keys.map(\.bytea)
        let times = Array(pending.times.values)
        let (hits, misses) = (Int64(clamping: pending.hits), Int64(clamping: pending.misses))
        do throws(CashetError) {
            try await perform("recording \(pending.times.count) cache hits") { [logger] client, _ in
                if !hashes.isEmpty {
                    try await client.query("""
                        UPDATE cashet_commits c SET last_used_ns = greatest(c.last_used_ns, u.t)
                        FROM unnest(\(hashes)::bytea[], \(times)::int8[]) AS u(h, t) WHERE c.hash = u.h
                        """, logger: logger)
                }
                if hits > 0 || misses > 0 {
                    try await client.query("""
                        INSERT INTO cashet_usage AS u (shard, hits, misses) VALUES (0, \(hits), \(misses))
                        ON CONFLICT (shard) DO UPDATE SET hits = u.hits + excluded.hits, misses = u.misses + excluded.misses
                        """, logger: logger)
                }
            }
        } catch {
            accessLog.restore(pending)
            throw error
        }
    }

    public nonisolated(nonsending) func blob(_ hash: ContentHash) async throws(CashetError) -> [UInt8] {
        try await blobs([hash])[0]
    }

    public nonisolated(nonsending) func blobs(_ hashes: [ContentHash]) async throws(CashetError) -> [[UInt8]] {
        let location = location
        let found = try await perform(hashes.count == 1 ? "reading blob \(hashes[0].shortHex)" : "reading \(hashes.count) blobs") { [self] client, _ in
            try await client.withConnection { connection in try await readBlobs(hashes, connection) }
        }
        return try hashes.map { hash throws(CashetError) in
            guard let bytes = found[hash] else { throw CashetError(.notFound, "no blob \(hash.hex) in \(location)") }
            return bytes
        }
    }

    /// Reads and verifies the blobs of `hashes` that exist, with their chunks.
    func readBlobs(_ hashes: [ContentHash], _ connection: PostgresConnection) async throws -> [ContentHash: [UInt8]] {
        let rows = try await connection.query("""
            SELECT hash, size, encoding, data, chunk_count FROM cashet_blobs WHERE hash = ANY(\(Array(Set(hashes)).map(\.bytea))::bytea[])
            """, logger: logger)
        var stored: [(hash: ContentHash, size: Int, encoding: Int16, data: [UInt8]?, chunks: Int32)] = []
        for try await (hash, size, encoding, data, chunks) in rows.decode((ByteBuffer, Int64, Int16, ByteBuffer?, Int32).self) {
            stored.append((try ContentHash(bytea: hash), Int(size), encoding, data?.array, chunks))
        }
        var result: [ContentHash: [UInt8]] = [:]
        for blob in stored {
            var pieces = [blob.data ?? []]
            if blob.chunks > 0 {
                pieces = []
                let chunkRows = try await connection.query("SELECT index, data FROM cashet_blob_chunks WHERE hash = \(blob.hash.bytea) ORDER BY index", logger: logger)
                for try await (index, data) in chunkRows.decode((Int32, ByteBuffer).self) {
                    guard index == pieces.count else { break }
                    pieces.append(data.array)
                }
                guard pieces.count == blob.chunks else {
                    throw CashetError(.corruptData, "blob \(blob.hash.hex) in \(location) has \(pieces.count) of its \(blob.chunks) chunks")
                }
            }
            result[blob.hash] = try PostgresBlob.decode(blob.hash, size: blob.size, encoding: blob.encoding, pieces: pieces, location: location)
        }
        return result
    }

    public nonisolated(nonsending) func commit(_ hash: ContentHash) async throws(CashetError) -> Commit? {
        try await commits([hash])[0]
    }

    public nonisolated(nonsending) func commits(_ hashes: [ContentHash]) async throws(CashetError) -> [Commit?] {
        let action = hashes.count == 1 ? "reading commit \(hashes[0].shortHex)" : "reading \(hashes.count) commits"
        var found: [ContentHash: Commit] = [:]
        for commit in try await loadCommits(action, where: "c.hash = ANY(\(hashes.map(\.bytea))::bytea[])") { found[commit.hash] = commit }
        return hashes.map { found[$0] }
    }

    public nonisolated(nonsending) func commits(matching query: CommitQuery) async throws(CashetError) -> [Commit] {
        if let limit = query.limit, limit <= 0 { return [] }
        var sql = "TRUE"
        var bindings = PostgresBindings()
        func bind(_ value: some PostgresDynamicTypeEncodable) -> String {
            bindings.append(value)
            return "$\(bindings.count)"
        }
        if let name = query.functionName { sql += " AND c.function_name = \(bind(name))" }
        if let since = query.since { sql += " AND c.created_ns >= \(bind(CanonicalCommit.nanoseconds(since)))" }
        if let before = query.before {
            // The listing's order is (created_ns, hash) descending: the page resumes below the cursor.
            sql += " AND (c.created_ns, c.hash) < (\(bind(before.createdAtNanoseconds)), \(bind(before.hash.bytea)))"
        }
        for (key, value) in query.tags.sorted(by: { $0.key < $1.key }) {
            sql += " AND EXISTS (SELECT 1 FROM cashet_tags t WHERE t.commit = c.hash AND t.key = \(bind(key)) AND t.value = \(bind(value)))"
        }
        sql += " ORDER BY c.created_ns DESC, c.hash DESC"
        if let limit = query.limit { sql += " LIMIT \(bind(Int64(limit)))" }
        return try await loadCommits("listing commits", where: PostgresQuery(unsafeSQL: sql, binds: bindings))
    }

    public nonisolated(nonsending) func history(of fingerprint: Fingerprint) async throws(CashetError) -> [Commit] {
        try await loadCommits("reading the history of \(fingerprint)", where: "c.fingerprint = \(fingerprint.bytea) ORDER BY c.created_ns, c.hash")
    }

    /// Commits selected by `condition` (a WHERE clause, with any ORDER BY and LIMIT), decoded
    /// from their records and joined with their functions' source and manifest. Each function's
    /// row is fetched and decoded once, in a second query, not once per commit: a manifest can
    /// list thousands of helpers.
    private func loadCommits(_ action: String, where condition: PostgresQuery) async throws(CashetError) -> [Commit] {
        let query = PostgresQuery(unsafeSQL: """
            SELECT c.hash, c.record, c.function_hash FROM cashet_commits c
            WHERE \(condition.sql)
            """, binds: condition.binds)
        let (rows, functions) = try await perform(action) { [logger] client, _ in
            var rows: [(ByteBuffer, ByteBuffer, ByteBuffer)] = []
            for try await row in try await client.query(query, logger: logger).decode((ByteBuffer, ByteBuffer, ByteBuffer).self) { rows.append(row) }
            let hashes = Array(Set(rows.map { $0.2.array }))
            var functions: [[UInt8]: ByteBuffer] = [:]
            if !hashes.isEmpty {
                let selected = try await client.query("SELECT hash, record FROM cashet_functions WHERE hash = ANY(\(hashes.map(\.bytea))::bytea[])", logger: logger)
                for try await (hash, record) in selected.decode((ByteBuffer, ByteBuffer).self) { functions[hash.array] = record }
            }
            return (rows, functions)
        }
        var details: [[UInt8]: FunctionDetails] = [:]
        for (hash, record) in functions { details[hash] = try CanonicalCommit.decodeFunctionDetails(record.array) }
        return try rows.map { hash, record, function throws(CashetError) in
            try CanonicalCommit.decodeVerifiedCommit(hash: try ContentHash(bytea: hash), record.array, details: details[function.array] ?? .none)
        }
    }

    public nonisolated(nonsending) func resolveCommit(_ prefix: HashPrefix) async throws(CashetError) -> ContentHash {
        let lowerBound = prefix.lowerBound.bytea
        let candidates = try await perform("resolving hash prefix \(prefix)") { [logger] client, _ in
            var found: [ContentHash] = []
            let rows = try await client.query("SELECT hash FROM cashet_commits WHERE hash >= \(lowerBound) ORDER BY hash LIMIT 11", logger: logger)
            for try await hash in rows.decode(ByteBuffer.self) {
                guard prefix.matches(hash.array) else { break }
                found.append(try ContentHash(bytea: hash))
            }
            return found
        }
        return try prefix.single(of: Array(candidates.prefix(10)), more: candidates.count > 10, in: location)
    }

    public nonisolated(nonsending) func commitsProducing(_ prefix: HashPrefix) async throws(CashetError) -> [Commit] {
        let lowerBound = prefix.lowerBound.bytea
        let (results, hashes) = try await perform("finding the commits of result \(prefix)") { [logger] client, _ in
            // The output index in hash order: the results matching the prefix come first, and
            // 11 of them are enough to call it ambiguous.
            var results: [ContentHash] = []
            let rows = try await client.query("SELECT DISTINCT output FROM cashet_commits WHERE output >= \(lowerBound) ORDER BY output LIMIT 11", logger: logger)
            for try await output in rows.decode(ByteBuffer.self) where prefix.matches(output.array) {
                results.append(try ContentHash(bytea: output))
            }
            guard results.count == 1 else { return (results, [ContentHash]()) }
            var found: [ContentHash] = []
            for try await hash in try await client.query("SELECT hash FROM cashet_commits WHERE output = \(results[0].bytea)", logger: logger).decode(ByteBuffer.self) {
                found.append(try ContentHash(bytea: hash))
            }
            return (results, found)
        }
        _ = try prefix.single(of: Array(results.prefix(10)), more: results.count > 10, in: location, noun: "result")
        return try Self.single(result: prefix, try await commits(hashes).compactMap { $0 }, in: location)
    }

    public nonisolated(nonsending) func stats() async throws(CashetError) -> StoreStats {
        try await perform("reading store statistics") { [logger] client, _ in
            let rows = try await client.query("""
                SELECT \(unescaped: Self.counterTotals),
                       (SELECT coalesce(sum(pg_total_relation_size(oid)), 0)::int8 FROM pg_class WHERE relkind = 'r' AND relname LIKE 'cashet\\_%'),
                       (SELECT min(created_ns) FROM cashet_commits), (SELECT max(created_ns) FROM cashet_commits),
                       (SELECT coalesce(sum(hits), 0)::int8 FROM cashet_usage), (SELECT coalesce(sum(misses), 0)::int8 FROM cashet_usage)
                FROM cashet_counters
                """, logger: logger)
            var stats = StoreStats()
            let counted = self.accessLog.pendingCalls
            for try await (commits, completed, failed, functions, blobs, chunked, logical, stored, disk, oldest, newest, hits, misses)
                in rows.decode((Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64?, Int64?, Int64, Int64).self) {
                stats = StoreStats(hits: Int(hits) + Int(clamping: counted.hits), misses: Int(misses) + Int(clamping: counted.misses),
                                   commits: Int(commits), completed: Int(completed), failed: Int(failed), functions: Int(functions),
                                   blobs: Int(blobs), fileBlobs: Int(chunked), logicalBytes: Int(logical), storedBytes: Int(stored),
                                   diskBytes: Int(disk), oldest: oldest.map(CanonicalCommit.date(nanoseconds:)),
                                   newest: newest.map(CanonicalCommit.date(nanoseconds:)))
            }
            return stats
        }
    }

    public nonisolated(nonsending) func breakdown(days: Int) async throws(CashetError) -> StoreBreakdown {
        let tallies = try await perform("reading the store's tallies") { [logger] client, _ in
            var tallies = TallyDelta()
            let functions = try await client.query("""
                SELECT name, sum(commits)::int8, sum(bytes)::int8 FROM cashet_function_tallies GROUP BY name HAVING sum(commits) > 0
                """, logger: logger)
            for try await (name, commits, bytes) in functions.decode((String, Int64, Int64).self) {
                tallies.functions[name] = TallyDelta.Change(commits: Int(commits), bytes: Int(bytes))
            }
            let rows = try await client.query("""
                SELECT day, sum(commits)::int8, sum(bytes)::int8 FROM cashet_day_tallies GROUP BY day HAVING sum(commits) > 0
                """, logger: logger)
            for try await (day, commits, bytes) in rows.decode((Int64, Int64, Int64).self) {
                tallies.days[day] = TallyDelta.Change(commits: Int(commits), bytes: Int(bytes))
            }
            return tallies
        }
        return StoreBreakdown.assembled(tallies, keepingDays: days, isTracked: true)
    }
}
