import Cashet
import Foundation
import PostgresNIO

/// Running statements with retries: every operation of ``PostgresStore`` goes through
/// ``PostgresStore/perform(_:_:)``.
extension PostgresStore {
    /// Runs `body` with the pool, retrying with backoff (50 ms doubling to 1 s) while the failure
    /// is transient (server unreachable, restarting, a dropped connection, a serialization
    /// conflict), for at most ``Configuration/retryBudget`` in all. `body` must be safe to run
    /// again: writes check whether an earlier attempt was applied.
    @discardableResult
    func perform<Result: Sendable>(_ action: String, _ body: @escaping @Sendable (PostgresClient, _ attempt: Int) async throws -> Result) async throws(CashetError) -> Result {
        let deadline = ContinuousClock.now + configuration.retryBudget
        var delay = Duration.milliseconds(50)
        var attempt = 1
        while true {
            let failure: PostgresFailure
            let current = attempt
            do {
                // The pool waits for a connection indefinitely while the server is down: bound it.
                return try await TimeLimit.run(deadline - ContinuousClock.now) { [client] in try await body(client, current) }
            } catch {
                failure = PostgresFailure(error)
                if let cashet = failure.underlying as? CashetError { throw cashet }
            }
            if Task.isCancelled { throw CashetError(.cancelled, "cancelled while \(action) in \(location)") }
            guard failure.isTransient, ContinuousClock.now + delay < deadline else {
                throw failure.error(action, location: location, retriedFor: failure.isTransient ? configuration.retryBudget : nil)
            }
            if attempt == 1 {
                logger.notice("server unreachable, retrying", metadata: ["action": "\(action)", "error": "\(failure.logDescription)"])
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(1))
            attempt += 1
        }
    }

    /// Runs `body` in one transaction (BEGIN … COMMIT), retried as a whole by ``perform(_:_:)``.
    func transaction<Result: Sendable>(_ action: String, _ body: @escaping @Sendable (PostgresConnection, _ attempt: Int) async throws -> Result) async throws(CashetError) -> Result {
        try await perform(action) { [logger] client, attempt in
            try await client.withTransaction(logger: logger) { connection in try await body(connection, attempt) }
        }
    }
}

/// A failure of the PostgreSQL client, classified.
struct PostgresFailure {
    let underlying: any Error
    /// The SQLSTATE the server sent, if it was a server error.
    let sqlState: String?
    /// The server's message, if any.
    let serverMessage: String?

    /// For logs: the server's SQLSTATE and message, else the error's description (PostgresNIO
    /// keeps connection details, and so any password, out of that).
    var logDescription: String {
        serverMessage.map { "\(sqlState ?? "?"): \($0)" } ?? "\(underlying)"
    }

    init(_ error: any Error) {
        var error = error
        if let transaction = error as? PostgresTransactionError {
            error = transaction.closureError ?? transaction.commitError ?? transaction.beginError ?? transaction.rollbackError ?? error
        }
        underlying = error
        let psql = error as? PSQLError
        sqlState = psql?.serverInfo?[.sqlState]
        serverMessage = psql?.serverInfo?[.message]
    }

    /// Worth retrying: the connection or server went away, or a conflict the server resolved by
    /// aborting this transaction (serialization failure, deadlock, a row removed under it).
    var isTransient: Bool {
        if underlying is TimeLimit.Exceeded { return true }
        if let state = sqlState {
            return state.hasPrefix("08") || state.hasPrefix("57P") || state == "40001" || state == "40P01" || state == "23503" || state == "53300"
        }
        if let psql = underlying as? PSQLError {
            switch psql.code {
            case .connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection: return true
            default: return false
            }
        }
        // Socket errors (refused, reset) that reach us unwrapped.
        return underlying is IOError || underlying is ChannelError || underlying is NIOConnectionError
    }

    /// The typed error for this failure.
    func error(_ action: String, location: String, retriedFor budget: Duration?) -> CashetError {
        let reason = serverMessage.map { "\($0) (SQLSTATE \(sqlState ?? "?"))" } ?? describe(underlying)
        if let budget {
            return CashetError(.unavailable, "\(action) in \(location) failed: \(reason); retried for \(budget)", underlying: underlying)
        }
        let code: CashetError.Code = switch sqlState {
        case "28P01", "28000", "42501": .permissionDenied
        case "53100": .outOfSpace
        case "3D000": .notAStore
        default: .storage
        }
        return CashetError(code, "\(action) in \(location) failed: \(reason)", underlying: underlying)
    }

    /// PSQLError's own description hides everything (it may hold the query's binds); the code is safe to show.
    private func describe(_ error: any Error) -> String {
        if let psql = error as? PSQLError { return "PostgreSQL client error: \(psql.code)" }
        if error is TimeLimit.Exceeded { return "no answer from the server" }
        return String(describing: error)
    }
}
