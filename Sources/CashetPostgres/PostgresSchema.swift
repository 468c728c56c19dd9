import Cashet
import PostgresNIO

/// The `cashet_*` tables and their migrations.
///
/// `cashet_meta.schema_version` records the version; ``prepare(_:)`` applies every migration
/// above it in one transaction under an advisory lock, so processes starting together agree.
/// Columns hold what SQL queries filter and join on; `record` columns hold the exact binary
/// records the LMDB store writes, so a commit's SHA-256 is the same in every store and commits
/// move between stores (the tiered store, `export`/`import`) unchanged.
enum PostgresSchema {
    /// The version this build writes; a database at a higher one is refused.
    static let version: Int64 = 3

    /// The advisory lock key migrations take ("cashet" in ASCII, then 1).
    private static let migrationLock: Int64 = 0x6361_7368_6574_0001

    /// Migration `n` brings the schema from version `n` to `n + 1`.
    static let migrations: [[PostgresQuery]] = [
        [
            """
            CREATE TABLE cashet_blobs (
                hash bytea PRIMARY KEY CHECK (length(hash) = 32),
                size bigint NOT NULL CHECK (size >= 0),
                stored_size bigint NOT NULL CHECK (stored_size >= 0),
                encoding smallint NOT NULL,
                data bytea,
                chunk_count integer NOT NULL DEFAULT 0
            )
            """,
            // Already compressed by cashet: stop TOAST from compressing again.
            "ALTER TABLE cashet_blobs ALTER COLUMN data SET STORAGE EXTERNAL",
            """
            CREATE TABLE cashet_blob_chunks (
                hash bytea NOT NULL REFERENCES cashet_blobs (hash) ON DELETE CASCADE,
                index integer NOT NULL,
                data bytea NOT NULL,
                PRIMARY KEY (hash, index)
            )
            """,
            "ALTER TABLE cashet_blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL",
            "CREATE TABLE cashet_functions (hash bytea PRIMARY KEY, record bytea NOT NULL)",
            """
            CREATE TABLE cashet_commits (
                hash bytea PRIMARY KEY CHECK (length(hash) = 32),
                fingerprint bytea NOT NULL,
                function_hash bytea NOT NULL REFERENCES cashet_functions (hash),
                function_name text NOT NULL,
                parent bytea,
                created_ns bigint NOT NULL,
                last_used_ns bigint NOT NULL,
                completed boolean NOT NULL,
                output bytea REFERENCES cashet_blobs (hash),
                output_size bigint,
                record bytea NOT NULL
            )
            """,
            "CREATE INDEX cashet_commits_history ON cashet_commits (fingerprint, created_ns, hash)",
            "CREATE INDEX cashet_commits_timeline ON cashet_commits (created_ns, hash)",
            "CREATE INDEX cashet_commits_by_name ON cashet_commits (function_name, created_ns, hash)",
            "CREATE INDEX cashet_commits_by_function ON cashet_commits (function_hash)",
            "CREATE INDEX cashet_commits_by_output ON cashet_commits (output)",
            "CREATE INDEX cashet_commits_by_use ON cashet_commits (last_used_ns)",
            """
            CREATE TABLE cashet_tags (
                key text NOT NULL,
                value text NOT NULL,
                created_ns bigint NOT NULL,
                commit bytea NOT NULL REFERENCES cashet_commits (hash) ON DELETE CASCADE,
                PRIMARY KEY (key, value, created_ns, commit)
            )
            """,
            "CREATE INDEX cashet_tags_by_commit ON cashet_tags (commit)",
            """
            CREATE TABLE cashet_heads (
                fingerprint bytea PRIMARY KEY,
                commit bytea NOT NULL REFERENCES cashet_commits (hash) ON DELETE CASCADE,
                completed boolean NOT NULL,
                created_ns bigint NOT NULL,
                output bytea,
                output_size bigint
            )
            """,
            "CREATE INDEX cashet_heads_by_commit ON cashet_heads (commit)",
            """
            CREATE TABLE cashet_leases (
                fingerprint bytea PRIMARY KEY,
                owner text NOT NULL,
                acquired_at timestamptz NOT NULL DEFAULT now(),
                heartbeat_at timestamptz NOT NULL DEFAULT now(),
                expires_at timestamptz NOT NULL
            )
            """,
            "CREATE INDEX cashet_leases_by_owner ON cashet_leases (owner)",
            // A write's first statement: the fingerprints' advisory locks in key order, then
            // their heads, read with a snapshot taken after the locks (a function's statements
            // each take one), so no commit that finished while we waited is missed.
            """
            CREATE FUNCTION cashet_lock_heads(keys bigint[], fingerprints bytea[]) RETURNS TABLE (fingerprint bytea, head bytea)
            LANGUAGE plpgsql VOLATILE AS $$
            BEGIN
                PERFORM pg_advisory_xact_lock(s.k) FROM (SELECT DISTINCT unnest(keys) AS k ORDER BY 1) AS s;
                RETURN QUERY SELECT h.fingerprint, h.commit FROM cashet_heads h WHERE h.fingerprint = ANY(fingerprints);
            END
            $$
            """,
            // Sharded so concurrent writers do not queue on one row; `stats` sums the shards.
            """
            CREATE TABLE cashet_counters (
                shard smallint PRIMARY KEY,
                commits bigint NOT NULL DEFAULT 0,
                completed bigint NOT NULL DEFAULT 0,
                failed bigint NOT NULL DEFAULT 0,
                functions bigint NOT NULL DEFAULT 0,
                blobs bigint NOT NULL DEFAULT 0,
                chunked_blobs bigint NOT NULL DEFAULT 0,
                logical_bytes bigint NOT NULL DEFAULT 0,
                stored_bytes bigint NOT NULL DEFAULT 0
            )
            """,
        ],
        [
            // Calls answered from the cache and calls that ran, added by each client's flush.
            """
            CREATE TABLE cashet_usage (
                shard smallint PRIMARY KEY,
                hits bigint NOT NULL DEFAULT 0,
                misses bigint NOT NULL DEFAULT 0
            )
            """,
        ],
        [
            // The tallies behind `StoreBreakdown`: commits and result bytes by function name and
            // by creation day (days since 1970, UTC). Kept by statement triggers on
            // `cashet_commits`, so every writer (this release's or not) keeps them, in its own
            // transaction; sharded as `cashet_counters` is. Counted once from the commits here.
            """
            CREATE TABLE cashet_function_tallies (
                name text NOT NULL, shard smallint NOT NULL, commits bigint NOT NULL, bytes bigint NOT NULL,
                PRIMARY KEY (name, shard)
            )
            """,
            """
            CREATE TABLE cashet_day_tallies (
                day bigint NOT NULL, shard smallint NOT NULL, commits bigint NOT NULL, bytes bigint NOT NULL,
                PRIMARY KEY (day, shard)
            )
            """,
            """
            CREATE FUNCTION cashet_tally_commits() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                sign int8 := CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END;
                s int2 := floor(random() * 16)::int2;
            BEGIN
                INSERT INTO cashet_function_tallies AS t (name, shard, commits, bytes)
                    SELECT function_name, s, sign * count(*), sign * coalesce(sum(output_size), 0) FROM changed GROUP BY function_name
                    ON CONFLICT (name, shard) DO UPDATE SET commits = t.commits + excluded.commits, bytes = t.bytes + excluded.bytes;
                INSERT INTO cashet_day_tallies AS t (day, shard, commits, bytes)
                    SELECT floor(created_ns::numeric / 86400000000000)::int8, s, sign * count(*), sign * coalesce(sum(output_size), 0)
                    FROM changed GROUP BY 1
                    ON CONFLICT (day, shard) DO UPDATE SET commits = t.commits + excluded.commits, bytes = t.bytes + excluded.bytes;
                RETURN NULL;
            END
            $$
            """,
            """
            CREATE TRIGGER cashet_tally_inserted AFTER INSERT ON cashet_commits
                REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION cashet_tally_commits()
            """,
            """
            CREATE TRIGGER cashet_tally_deleted AFTER DELETE ON cashet_commits
                REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION cashet_tally_commits()
            """,
        ] + countTallies,
    ]

    /// The tallies counted from the commits, in shard 0: what migration 3 starts them with and
    /// `fsck --repair` writes back (into emptied tables).
    static let countTallies: [PostgresQuery] = [
        "INSERT INTO cashet_function_tallies (name, shard, commits, bytes) \(unescaped: functionTalliesCounted)",
        "INSERT INTO cashet_day_tallies (day, shard, commits, bytes) \(unescaped: dayTalliesCounted)",
    ]

    /// Name, shard 0, commits and bytes per function, counted from the commits.
    static let functionTalliesCounted = "SELECT function_name, 0::int2, count(*)::int8, coalesce(sum(output_size), 0)::int8 FROM cashet_commits GROUP BY function_name"
    /// Day, shard 0, commits and bytes per creation day, counted from the commits.
    static let dayTalliesCounted = "SELECT floor(created_ns::numeric / 86400000000000)::int8, 0::int2, count(*)::int8, coalesce(sum(output_size), 0)::int8 FROM cashet_commits GROUP BY 1"

    /// Creates the tables, or migrates them to ``version``; refuses a newer schema. Runs on a
    /// connection of its own (see ``PostgresStore/withDirectConnection(_:)``).
    static func prepare(_ store: PostgresStore) async throws(CashetError) {
        let location = store.location
        let logger = store.logger
        try await store.perform("preparing the cashet schema") { _, _ in
            try await store.withDirectConnection { connection in
                try await connection.withTransaction(logger: logger) { connection in
                    try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger)
                    try await connection.query("CREATE TABLE IF NOT EXISTS cashet_meta (key text PRIMARY KEY, value bigint NOT NULL)", logger: logger)
                    var current: Int64 = 0
                    for try await value in try await connection.query("SELECT value FROM cashet_meta WHERE key = 'schema_version'", logger: logger).decode(Int64.self) {
                        current = value
                    }
                    guard current <= version else {
                        throw CashetError(.newerSchema, "the cashet tables in \(location) have schema version \(current); this cashet reads up to \(version)")
                    }
                    for migration in migrations[Int(current)...] {
                        for statement in migration { try await connection.query(statement, logger: logger) }
                    }
                    if current < version {
                        try await connection.query("""
                            INSERT INTO cashet_meta (key, value) VALUES ('schema_version', \(version))
                            ON CONFLICT (key) DO UPDATE SET value = excluded.value
                            """, logger: logger)
                    }
                }
            }
        }
    }
}
