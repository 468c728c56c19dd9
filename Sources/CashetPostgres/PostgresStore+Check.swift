import Cashet
import Foundation
import PostgresNIO

/// `fsck`: reads every commit and blob back and checks them against their hashes, and the
/// counters against a recount. Foreign keys already rule out dangling heads and references.
extension PostgresStore {
    public nonisolated(nonsending) func check(repair: Bool, progress: ProgressHandler?) async throws(CashetError) -> IntegrityReport {
        var report = IntegrityReport()
        var damagedCommits: [ContentHash] = []
        var damagedBlobs: [ContentHash] = []
        // The counters say how much there is to read; damaged ones only make the total wrong.
        let counted = progress == nil ? nil : try? await stats()
        var checked = ProgressCount(total: (counted?.commits ?? 0) + (counted?.blobs ?? 0), handler: progress)
        try await forEachPage(of: "cashet_commits", column: "record") { hash, record in
            report.commitsChecked += 1
            checked.advance()
            do throws(CashetError) {
                _ = try CanonicalCommit.decodeVerifiedCommit(hash: hash, record.array, details: .none)
            } catch {
                damagedCommits.append(hash)
                report.problems.append(.init(kind: .damagedCommit, subject: hash.hex, detail: "commit \(hash.shortHex): \(error.message)"))
            }
        }
        try await forEachPage(of: "cashet_blobs", column: "hash") { (hash: ContentHash, _: ByteBuffer) async throws(CashetError) in
            checked.advance()
            do throws(CashetError) {
                let bytes = try await blob(hash)
                report.blobsChecked += 1
                report.bytesVerified += bytes.count
            } catch {
                guard error.code == .corruptData else { throw error }
                damagedBlobs.append(hash)
                report.problems.append(.init(kind: .damagedBlob, subject: hash.hex, detail: error.message))
            }
        }
        if let recount = try await recountCounters(rewrite: false), recount.differs {
            report.problems.append(.init(kind: .wrongCounters, subject: location, detail: "the counters behind stats differ from a recount: \(recount.detail)"))
        }
        if try await recountTallies(rewrite: false) {
            report.problems.append(.init(kind: .wrongCounters, subject: location, detail: "the tallies by function and by day differ from the commits"))
        }
        guard repair, !report.problems.isEmpty else { return report }

        if !damagedCommits.isEmpty {
            _ = try await removeCommits(damagedCommits, "removing \(damagedCommits.count) damaged commit(s)")
            report.repairs.append("removed \(damagedCommits.count) damaged commit(s)")
        }
        if !damagedBlobs.isEmpty {
            let users = try await commitsReferencing(damagedBlobs)
            if !users.isEmpty { _ = try await removeCommits(users, "removing \(users.count) commit(s) with damaged results") }
            try await perform("removing \(damagedBlobs.count) damaged blob(s)") { [logger, keys = damagedBlobs.map(\.bytea)] client, _ in
                try await client.query("DELETE FROM cashet_blobs WHERE hash = ANY(\(keys)::bytea[])", logger: logger)
            }
            report.repairs.append("removed \(damagedBlobs.count) damaged blob(s) and the \(users.count) commit(s) that returned them")
        }
        _ = try await recountCounters(rewrite: true)
        report.repairs.append("recounted the counters")
        if try await recountTallies(rewrite: true) { report.repairs.append("recounted the tallies by function and by day") }
        let after = try await check(repair: false)
        report.unrepaired = after.problems.filter(\.kind.isDamage)
        return report
    }

    /// Calls `body` with each row's hash and one `bytea` column, reading `table` 500 rows at a
    /// time in hash order.
    private func forEachPage(of table: String, column: String, _ body: (ContentHash, ByteBuffer) async throws(CashetError) -> Void) async throws(CashetError) {
        var after = [UInt8]()
        while true {
            let from = after.bytea
            let page = try await perform("checking \(table)") { [logger] client, _ in
                var rows: [(ByteBuffer, ByteBuffer)] = []
                let query: PostgresQuery = "SELECT hash, \(unescaped: column) FROM \(unescaped: table) WHERE hash > \(from) ORDER BY hash LIMIT 500"
                for try await row in try await client.query(query, logger: logger).decode((ByteBuffer, ByteBuffer).self) { rows.append(row) }
                return rows
            }
            // Both tables' hash columns are CHECKed to 32 bytes.
            for (hash, value) in page { try await body(try ContentHash(bytea: hash), value) }
            guard page.count == 500, let last = page.last else { return }
            after = last.0.array
        }
    }

    private func commitsReferencing(_ blobs: [ContentHash]) async throws(CashetError) -> [ContentHash] {
        try await perform("finding commits of damaged blobs") { [logger, keys = blobs.map(\.bytea)] client, _ in
            var hashes: [ContentHash] = []
            for try await hash in try await client.query("SELECT hash FROM cashet_commits WHERE output = ANY(\(keys)::bytea[])", logger: logger).decode(ByteBuffer.self) {
                hashes.append(try ContentHash(bytea: hash))
            }
            return hashes
        }
    }

    /// Whether the tallies differ from a count of the commits, under a lock that makes writers
    /// (whose triggers add to the tallies) wait; with `rewrite`, replaces them with the count.
    private func recountTallies(rewrite: Bool) async throws(CashetError) -> Bool {
        try await transaction("recounting the store's tallies") { [logger] connection, _ in
            try await connection.query("LOCK TABLE cashet_function_tallies, cashet_day_tallies IN EXCLUSIVE MODE", logger: logger)
            let stored = "SELECT name, 0::int2, sum(commits)::int8, sum(bytes)::int8 FROM cashet_function_tallies GROUP BY name HAVING sum(commits) <> 0 OR sum(bytes) <> 0"
            let storedDays = "SELECT day, 0::int2, sum(commits)::int8, sum(bytes)::int8 FROM cashet_day_tallies GROUP BY day HAVING sum(commits) <> 0 OR sum(bytes) <> 0"
            let (counted, countedDays) = (PostgresSchema.functionTalliesCounted, PostgresSchema.dayTalliesCounted)
            var differs = false
            let rows = try await connection.query("""
                SELECT (SELECT count(*) FROM ((\(unescaped: counted) EXCEPT \(unescaped: stored)) UNION ALL (\(unescaped: stored) EXCEPT \(unescaped: counted))) f)::int8
                     + (SELECT count(*) FROM ((\(unescaped: countedDays) EXCEPT \(unescaped: storedDays)) UNION ALL (\(unescaped: storedDays) EXCEPT \(unescaped: countedDays))) d)::int8
                """, logger: logger)
            for try await different in rows.decode(Int64.self) { differs = different > 0 }
            if rewrite && differs {
                try await connection.query("DELETE FROM cashet_function_tallies", logger: logger)
                try await connection.query("DELETE FROM cashet_day_tallies", logger: logger)
                for statement in PostgresSchema.countTallies { try await connection.query(statement, logger: logger) }
            }
            return differs
        }
    }

    /// Recounts what the counters hold, under a lock that makes writers wait; with `rewrite`,
    /// replaces the shards with the recount.
    private func recountCounters(rewrite: Bool) async throws(CashetError) -> (differs: Bool, detail: String)? {
        try await transaction("recounting the store's counters") { [logger] connection, _ in
            try await connection.query("LOCK TABLE cashet_counters IN EXCLUSIVE MODE", logger: logger)
            let rows = try await connection.query("""
                SELECT (SELECT count(*) FROM cashet_commits)::int8, (SELECT count(*) FROM cashet_commits WHERE completed)::int8,
                       (SELECT count(*) FROM cashet_commits WHERE NOT completed)::int8, (SELECT count(*) FROM cashet_functions)::int8,
                       (SELECT count(*) FROM cashet_blobs)::int8, (SELECT count(*) FROM cashet_blobs WHERE chunk_count > 0)::int8,
                       (SELECT coalesce(sum(size), 0) FROM cashet_blobs)::int8, (SELECT coalesce(sum(stored_size), 0) FROM cashet_blobs)::int8,
                       \(unescaped: Self.counterTotals)
                FROM cashet_counters
                """, logger: logger)
            for try await row in rows.decode((Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64).self) {
                let actual = [row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7]
                let counted = [row.8, row.9, row.10, row.11, row.12, row.13, row.14, row.15]
                if rewrite {
                    try await connection.query("DELETE FROM cashet_counters", logger: logger)
                    try await connection.query("""
                        INSERT INTO cashet_counters (shard, commits, completed, failed, functions, blobs, chunked_blobs, logical_bytes, stored_bytes)
                        VALUES (0, \(row.0), \(row.1), \(row.2), \(row.3), \(row.4), \(row.5), \(row.6), \(row.7))
                        """, logger: logger)
                }
                let names = ["commits", "completed", "failed", "functions", "blobs", "chunked blobs", "logical bytes", "stored bytes"]
                let wrong = zip(names, zip(counted, actual)).filter { $0.1.0 != $0.1.1 }.map { "\($0.0) \($0.1.0) ≠ \($0.1.1)" }
                return (!wrong.isEmpty, wrong.joined(separator: ", "))
            }
            return nil
        }
    }
}
