import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// Renews a store's leases from a thread of its own, over a connection of its own.
///
/// A task on the cooperative pool would share its threads with the calls the leases cover: bodies
/// that compute without suspending hold every one of those threads, the renewal never runs, the
/// lease expires and another machine runs the call again. So the renewal loop is a plain thread
/// that waits on a condition and blocks on its query, and its connection is driven by an NIO
/// event loop (NIO's own threads), not by the pooled `PostgresClient`, whose work runs on the
/// cooperative pool too.
final class PostgresHeartbeat: @unchecked Sendable {
    // `stopped` and `thread` are read and written only with `condition` locked.
    private let condition = NSCondition()
    private var stopped = false
    private var thread: Thread?

    private let interval: TimeInterval
    private let renew: (PostgresConnection) throws -> Void
    private let connect: () throws -> PostgresConnection
    private let logger: Logger

    /// Calls `renew` every `interval` over a connection `connect` opens (again after a failure),
    /// logging failed beats to `logger`.
    init(interval: Duration, logger: Logger, connect: @escaping @Sendable () throws -> PostgresConnection,
         renew: @escaping @Sendable (PostgresConnection) throws -> Void) {
        self.logger = logger
        self.interval = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        self.connect = connect
        self.renew = renew
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "cashet.postgres.heartbeat"
        condition.withLock { self.thread = thread }
        thread.start()
    }

    /// Ends the loop; the thread closes its connection and exits (not waited for).
    func stop() {
        condition.withLock {
            stopped = true
            condition.broadcast()
        }
    }

    private func run() {
        var connection: PostgresConnection?
        var failures = 0
        while waitForNextBeat() {
            do {
                if connection == nil { connection = try connect() }
                try renew(connection!)
                if failures > 0 { logger.notice("lease heartbeat recovered", metadata: ["failed_beats": "\(failures)"]) }
                failures = 0
            } catch {
                // The next beat connects again; leases last three beats.
                failures += 1
                logger.warning("lease heartbeat failed: held leases expire unless a beat succeeds, and another process may then run their calls",
                               metadata: ["failed_beats": "\(failures)", "error": "\(PostgresFailure(error).logDescription)"])
                try? connection?.close().wait()
                connection = nil
            }
        }
        try? connection?.close().wait()
    }

    /// Sleeps one interval; false once stopped.
    private func waitForNextBeat() -> Bool {
        condition.withLock {
            let deadline = Date().addingTimeInterval(interval)
            while !stopped && condition.wait(until: deadline) {}
            return !stopped
        }
    }
}

extension NSCondition {
    fileprivate func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}
