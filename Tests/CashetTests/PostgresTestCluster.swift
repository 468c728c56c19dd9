import CashetTestSupport
import Foundation
import Synchronization

/// A throwaway PostgreSQL cluster on loopback, started with `scripts/pg-cluster.sh` (which
/// installs Debian's postgresql when missing) and stopped when the test process exits.
/// ``shared()`` is one cluster for the whole test process, each test using databases of its
/// own; tests that stop or restart the server start a cluster of their own.
final class PostgresTestCluster: Sendable {
    let directory: String
    let port: Int
    let password: String

    private static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../scripts/pg-cluster.sh").standardized.path
    /// Started once, on first use. Everything here waits for subprocesses off the cooperative
    /// pool: blocking its threads would also block Foundation's notice that a subprocess ended.
    private static let sharedCluster = Task { try await start() }
    private static let started = Mutex<[String]>([])

    /// The cluster of this test process, started on first use.
    static func shared() async throws -> PostgresTestCluster {
        try await sharedCluster.value
    }

    /// Starts a new cluster in a temporary directory, on a free port.
    static func start() async throws -> PostgresTestCluster {
        let directory = NSTemporaryDirectory() + "cashet-pg-" + UUID().uuidString.prefix(8)
        var failure = ""
        for _ in 0..<5 {
            let port = Int.random(in: 20_000..<60_000)
            let result = try await Products.runOffPool("/bin/bash", [script, "start", directory, String(port)])
            if result.status == 0 {
                let password = try String(contentsOfFile: directory + "/password", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                Self.started.withLock { started in
                    if started.isEmpty { atexit { PostgresTestCluster.stopAll() } }
                    started.append(directory)
                }
                return PostgresTestCluster(directory: directory, port: port, password: password)
            }
            failure = result.stderr
            // The data directory stays; only the port is retried.
        }
        throw ClusterError(message: "could not start a PostgreSQL cluster in \(directory): \(failure)")
    }

    private init(directory: String, port: Int, password: String) {
        self.directory = directory
        self.port = port
        self.password = password
    }

    /// Stops the server (the data stays, for ``restart()``).
    func stop() async throws {
        let result = try await Products.runOffPool("/bin/bash", [Self.script, "stop", directory])
        guard result.status == 0 else { throw ClusterError(message: "pg-cluster.sh stop failed: \(result.stderr)") }
    }

    /// Starts the stopped server again on the same port.
    func restart() async throws {
        let result = try await Products.runOffPool("/bin/bash", [Self.script, "start", directory, String(port)])
        guard result.status == 0 else { throw ClusterError(message: "pg-cluster.sh start failed: \(result.stderr)") }
    }

    /// A new empty database; returns its URL (with the password, and `options` as query items).
    func makeDatabase(options: String = "") async throws -> String {
        let name = "t" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        try await sql("CREATE DATABASE \(name)", database: "cashet")
        return url(database: name, options: options)
    }

    /// `postgresql://cashet:PASSWORD@127.0.0.1:PORT/DATABASE[?options]`.
    func url(database: String, options: String = "", withPassword: Bool = true) -> String {
        "postgresql://cashet\(withPassword ? ":" + password : "")@127.0.0.1:\(port)/\(database)\(options.isEmpty ? "" : "?" + options)"
    }

    /// Runs SQL with psql in `database` (named, or taken from a URL); returns the unaligned output.
    @discardableResult
    func sql(_ statement: String, database: String) async throws -> String {
        let name = database.contains("/") ? String(database.split(separator: "/").last!.split(separator: "?")[0]) : database
        let result = try await Products.runOffPool("/usr/bin/psql", [url(database: name), "-v", "ON_ERROR_STOP=1", "-qAtc", statement])
        guard result.status == 0 else { throw ClusterError(message: "psql failed on \(statement): \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Stops every cluster this process started and removes its directory (at exit).
    private static func stopAll() {
        for directory in started.withLock({ $0 }) {
            _ = try? Products.run("/bin/bash", [script, "stop", directory])
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    struct ClusterError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}
