import Cashet
import Logging
import NIOSSL
import PostgresNIO

/// A cashet store in a PostgreSQL database, shared by every machine that can reach it.
///
/// ```swift
/// let shared = try await PostgresStore(url: "postgresql://cashet@db.internal/cashet")
/// let client = Client(store: TieredStore(local: try LMDBStore(".cashet"), remote: shared))
/// ```
///
/// Commits, heads, tags, function sources and blobs live in `cashet_*` tables, created on first
/// use and migrated by version (see `PostgresSchema`). Every statement is parameterized.
/// Blobs are deduplicated by SHA-256 and verified when read; blobs above 1 MiB are
/// zstd-compressed and split into 1 MiB rows. Operations retry while the server is unreachable
/// or restarting, for at most ``Configuration/retryBudget``, then fail with `.unavailable`;
/// writes are idempotent, so a retried write never records a commit twice.
///
/// Leases on running calls are rows with an owner and an expiry, renewed by a heartbeat: every
/// machine sharing the database runs each distinct call once, and a call whose holder died is
/// taken over once its lease expires. Expiry uses the server's clock, so clients need not agree
/// on the time.
///
/// Call ``close()`` when done: it releases this store's leases and closes its connections.
public final class PostgresStore: Store {
    /// The server and the store's settings (the password is never shown).
    public let configuration: Configuration
    let client: PostgresClient
    /// For connections outside the pool: ``withDirectConnection(_:)``'s, and the lease heartbeat's.
    let directConfiguration: PostgresConnection.Configuration
    let logger: Logger
    private let runner: Task<Void, Never>
    let leases: PostgresLeases
    /// Hit times for least-recently-used eviction, written in batches (hits never write).
    let accessLog = AccessLog(flushThreshold: 4096)

    /// Connects to the server and creates or migrates the schema.
    ///
    /// - Throws: `.unavailable` when the server cannot be reached within the retry budget,
    ///   `.permissionDenied` when it refuses the login, `.newerSchema` when a newer cashet
    ///   wrote the tables.
    public init(_ configuration: Configuration) async throws(CashetError) {
        self.configuration = configuration
        var options = PostgresClient.Configuration.Options()
        options.maximumConnections = configuration.maximumConnections
        options.connectTimeout = .seconds(5)
        let tls: PostgresClient.Configuration.TLS
        let directTLS: PostgresConnection.Configuration.TLS
        do {
            switch configuration.tlsMode {
            case .disable: (tls, directTLS) = (.disable, .disable)
            case .prefer: (tls, directTLS) = (.prefer(.makeClientConfiguration()), .prefer(try NIOSSLContext(configuration: .makeClientConfiguration())))
            case .require: (tls, directTLS) = (.require(.makeClientConfiguration()), .require(try NIOSSLContext(configuration: .makeClientConfiguration())))
            }
        } catch {
            throw CashetError(.storage, "cannot set up TLS for \(configuration.redactedURL): \(error)", underlying: error)
        }
        directConfiguration = PostgresConnection.Configuration(host: configuration.host, port: configuration.port, username: configuration.username,
                                                               password: configuration.password, database: configuration.database, tls: directTLS)
        var clientConfiguration = PostgresClient.Configuration(host: configuration.host, port: configuration.port, username: configuration.username,
                                                               password: configuration.password, database: configuration.database, tls: tls)
        clientConfiguration.options = options
        logger = configuration.logger.with("store", configuration.redactedURL)
        let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
        self.client = client
        runner = Task { await client.run() }
        leases = PostgresLeases(owner: PostgresLeases.makeOwnerName())
        do {
            try await PostgresSchema.prepare(self)
        } catch {
            runner.cancel()
            throw error
        }
        leases.startHeartbeat(self)
    }

    /// Connects to the store a `postgresql://` URL names (see ``Configuration/init(url:environment:)``).
    public convenience init(url: String) async throws(CashetError) {
        try await self.init(try Configuration(url: url))
    }

    deinit { runner.cancel() }

    /// Writes pending hit times, releases this store's leases and closes its connections.
    public nonisolated(nonsending) func close() async {
        do throws(CashetError) { try await flushAccessLog() } catch {
            logger.warning("hit times and call counts not written on close", metadata: ["error": "\(error)"])
        }
        await leases.stop(self)
        runner.cancel()
    }

    /// Where this store is, for messages: the URL without the password.
    public var location: String { configuration.redactedURL }

    /// Runs `body` on a connection of its own, outside the pool. The pool retries a refused
    /// login silently (a request would wait for the retry budget and report the server as
    /// unreachable), so opening the store logs in and prepares the schema this way first: a
    /// wrong password is reported as one, at once.
    func withDirectConnection<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        let connection = try await PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.next(), configuration: directConfiguration,
                                                              id: 0, logger: logger).get()
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }
}
