import Cashet
import Foundation
import Logging

extension PostgresStore {
    /// Where the PostgreSQL server is, and how the store behaves towards it.
    ///
    /// The password is never part of ``redactedURL`` or of any error message.
    public struct Configuration: Sendable {
        /// Server host name or address.
        public var host: String
        /// Server port.
        public var port: Int
        /// Role to log in as.
        public var username: String
        /// The role's password; nil for servers that trust the connection.
        public var password: String?
        /// Database holding the `cashet_*` tables (created on first use).
        public var database: String
        /// How to use TLS: `disable` (the default, for loopback), `prefer` or `require`
        /// (libpq's `sslmode`).
        public var tlsMode: TLSMode
        /// Most connections the store opens at once (a pool shared by all of its tasks).
        public var maximumConnections: Int
        /// How long an operation keeps retrying while the server is unreachable or restarting
        /// before it fails with `.unavailable`.
        public var retryBudget: Duration
        /// How long a lease on a running call lasts without a heartbeat. A holder renews its
        /// leases every third of this; a holder that dies is taken over once it passes.
        public var leaseDuration: Duration
        /// Where the store reports what it recovers from or cannot do: lease heartbeats that
        /// failed (`warning`) and recovered (`notice`), releases that failed, operations retried
        /// while the server is unreachable (`notice`), migrations (`notice`), and PostgresNIO's
        /// own connection-pool logging. Its metadata names the store by its URL without the
        /// password. Quiet by default.
        public var logger: Logger

        /// How the connection is encrypted (libpq's `sslmode` values).
        public enum TLSMode: String, Sendable {
            /// Plain TCP.
            case disable
            /// TLS when the server offers it.
            case prefer
            /// TLS or no connection.
            case require
        }

        /// Creates a configuration.
        public init(host: String = "127.0.0.1", port: Int = 5432, username: String, password: String? = nil, database: String,
                    tlsMode: TLSMode = .disable, maximumConnections: Int = 8, retryBudget: Duration = .seconds(15),
                    leaseDuration: Duration = .seconds(30), logger: Logger = .cashetQuiet) {
            self.host = host
            self.port = port
            self.username = username
            self.password = password
            self.database = database
            self.tlsMode = tlsMode
            self.maximumConnections = maximumConnections
            self.retryBudget = retryBudget
            self.leaseDuration = leaseDuration
            self.logger = logger
        }

        /// Whether `text` names a PostgreSQL store rather than a directory.
        public static func isURL(_ text: String) -> Bool {
            text.hasPrefix("postgresql://") || text.hasPrefix("postgres://")
        }

        /// Parses `postgresql://user[:password]@host[:port]/database[?options]`.
        ///
        /// Without a password in the URL, `PGPASSWORD` from `environment` is used (as libpq
        /// does). Options: `sslmode` (disable, prefer, require), `max_connections`,
        /// `retry_seconds`, `lease_seconds`.
        public init(url text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(CashetError) {
            guard Self.isURL(text), let url = URLComponents(string: text), let host = url.host, !host.isEmpty else {
                throw CashetError(.invalidArgument, "'\(Self.redacting(text))' is not a PostgreSQL URL (postgresql://user@host:port/database)")
            }
            guard let user = url.user, !user.isEmpty else {
                throw CashetError(.invalidArgument, "the PostgreSQL URL \(Self.redacting(text)) names no user (postgresql://user@host/database)")
            }
            let database = String(url.path.drop { $0 == "/" })
            guard !database.isEmpty, !database.contains("/") else {
                throw CashetError(.invalidArgument, "the PostgreSQL URL \(Self.redacting(text)) names no database (postgresql://user@host/database)")
            }
            self.init(host: host, port: url.port ?? 5432, username: user, password: url.password ?? environment["PGPASSWORD"],
                      database: database)
            for item in url.queryItems ?? [] {
                try apply(option: item.name, value: item.value ?? "")
            }
        }

        private mutating func apply(option: String, value: String) throws(CashetError) {
            func seconds() throws(CashetError) -> Duration {
                guard let seconds = Double(value), seconds > 0, seconds <= 86_400 else {
                    throw CashetError(.invalidArgument, "\(option) must be a number of seconds between 0 and 86400, got '\(value)'")
                }
                return .milliseconds(Int64(seconds * 1000))
            }
            switch option {
            case "sslmode":
                guard let mode = TLSMode(rawValue: value) else {
                    throw CashetError(.invalidArgument, "sslmode must be disable, prefer or require, got '\(value)'")
                }
                tlsMode = mode
            case "max_connections":
                guard let count = Int(value), (1...1000).contains(count) else {
                    throw CashetError(.invalidArgument, "max_connections must be 1 to 1000, got '\(value)'")
                }
                maximumConnections = count
            case "retry_seconds": retryBudget = try seconds()
            case "lease_seconds": leaseDuration = try seconds()
            default:
                throw CashetError(.invalidArgument, "unknown PostgreSQL URL option '\(option)' (known: sslmode, max_connections, retry_seconds, lease_seconds)")
            }
        }

        /// `postgresql://user@host:port/database`: what messages show; never the password.
        public var redactedURL: String { "postgresql://\(username)@\(host):\(port)/\(database)" }

        /// A URL as typed, with any password replaced, for messages about a URL that did not parse.
        static func redacting(_ text: String) -> String {
            guard let at = text.lastIndex(of: "@"), let scheme = text.range(of: "://"), scheme.upperBound < at else { return text }
            let credentials = text[scheme.upperBound..<at]
            guard let colon = credentials.firstIndex(of: ":") else { return text }
            return String(text[..<colon]) + ":***" + String(text[at...])
        }
    }
}
