import Cashet
import Foundation
import PostgresNIO
import Synchronization

/// Leases on running calls, as rows of `cashet_leases`: one per fingerprint being run, with
/// its owner (this store instance) and an expiry on the server's clock.
///
/// Taking a lease inserts the row, or takes over a row whose expiry has passed (its holder
/// died or lost the server). A heartbeat renews the leases this store holds every third of
/// ``PostgresStore/Configuration/leaseDuration``. Releasing deletes the row. Rows rather than
/// session advisory locks, because a pooled connection is not tied to a caller, and a row
/// survives a server restart: a lease is not silently lost while its holder still runs.
final class PostgresLeases: Sendable {
    /// This store instance: host, process and a random part, so two stores in one process differ.
    let owner: String
    private let held = Locked<Set<Fingerprint>>([])
    private let pendingReleases = Locked<[UUID: Task<Void, Never>]>([:])
    private let heartbeat = Locked<PostgresHeartbeat?>(nil)

    init(owner: String) {
        self.owner = owner
    }

    /// A store dropped without ``PostgresStore/close()`` stops renewing (its leases then expire).
    deinit { heartbeat.withLock { $0 }?.stop() }

    static func makeOwnerName() -> String {
        "\(ProcessInfo.processInfo.hostName):\(getpid()):\(UUID().uuidString.prefix(8))"
    }

    /// Takes the lease on `fingerprint`, or returns nil while a live holder (in this process or
    /// elsewhere) has it.
    func tryAcquire(_ fingerprint: Fingerprint, _ store: PostgresStore) async throws(CashetError) -> PostgresCallLease? {
        guard held.withLock({ $0.insert(fingerprint).inserted }) else { return nil }
        let owner = owner
        let seconds = store.configuration.leaseDuration.seconds
        let taken: Bool
        do {
            taken = try await store.perform("taking the lease on \(fingerprint)") { [logger = store.logger] client, _ in
                let rows = try await client.query("""
                    INSERT INTO cashet_leases AS l (fingerprint, owner, expires_at)
                    VALUES (\(fingerprint.bytea), \(owner), now() + \(seconds) * interval '1 second')
                    ON CONFLICT (fingerprint) DO UPDATE SET owner = excluded.owner, acquired_at = now(), heartbeat_at = now(), expires_at = excluded.expires_at
                    WHERE l.expires_at < now() OR l.owner = excluded.owner
                    RETURNING 1
                    """, logger: logger)
                for try await _ in rows { return true }
                return false
            }
        } catch {
            held.withLock { _ = $0.remove(fingerprint) }
            throw error
        }
        guard taken else {
            held.withLock { _ = $0.remove(fingerprint) }
            return nil
        }
        return PostgresCallLease(fingerprint: fingerprint, leases: self, store: store)
    }

    /// Gives a lease up by deleting its row in the background (``stop(_:)`` waits for those
    /// deletions). Tasks of this process can take it again once the row is gone: before, a
    /// new lease of the same owner would take over the row, and this deletion would remove it.
    func release(_ fingerprint: Fingerprint, _ store: PostgresStore) {
        let id = UUID()
        let owner = owner
        let task = Task {
            do throws(CashetError) {
                try await store.perform("releasing the lease on \(fingerprint)") { [logger = store.logger] client, _ in
                    try await client.query("DELETE FROM cashet_leases WHERE fingerprint = \(fingerprint.bytea) AND owner = \(owner)", logger: logger)
                }
            } catch {
                store.logger.warning("lease not released: other callers wait until it expires", metadata: ["fingerprint": fingerprint.logValue, "error": "\(error)"])
            }
            held.withLock { _ = $0.remove(fingerprint) }
            pendingReleases.withLock { _ = $0.removeValue(forKey: id) }
        }
        pendingReleases.withLock { $0[id] = task }
    }

    /// Renews the held leases every third of the lease duration, until ``stop(_:)``, from a
    /// thread and a connection of their own (see ``PostgresHeartbeat``).
    func startHeartbeat(_ store: PostgresStore) {
        let seconds = store.configuration.leaseDuration.seconds
        let (owner, held, logger, configuration) = (owner, held, store.logger, store.directConfiguration)
        let beat = PostgresHeartbeat(interval: store.configuration.leaseDuration / 3, logger: logger, connect: {
            try PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: 1, logger: logger).wait()
        }, renew: { connection in
            let fingerprints = held.withLock { Array($0) }.map(\.bytea)
            guard !fingerprints.isEmpty else { return }
            _ = try connection.query("""
                UPDATE cashet_leases SET heartbeat_at = now(), expires_at = now() + \(seconds) * interval '1 second'
                WHERE owner = \(owner) AND fingerprint = ANY(\(fingerprints)::bytea[])
                """, logger: logger).wait()
        })
        heartbeat.withLock { $0 = beat }
        beat.start()
    }

    /// Stops the heartbeat, waits for pending releases, and deletes any lease this store still holds.
    func stop(_ store: PostgresStore) async {
        heartbeat.withLock { $0 }?.stop()
        for task in pendingReleases.withLock({ Array($0.values) }) { await task.value }
        let owner = owner
        do throws(CashetError) {
            try await store.perform("releasing the leases of \(owner)") { [logger = store.logger] client, _ in
                try await client.query("DELETE FROM cashet_leases WHERE owner = \(owner)", logger: logger)
            }
        } catch {
            store.logger.warning("leases not released on close: other callers wait until they expire", metadata: ["owner": "\(owner)", "error": "\(error)"])
        }
    }
}

/// A lease of a ``PostgresStore``; releasing it twice releases once (as ``LMDBStore``'s).
final class PostgresCallLease: CallLease {
    let fingerprint: Fingerprint
    let leases: PostgresLeases
    let store: PostgresStore
    private let released = Atomic<Bool>(false)

    init(fingerprint: Fingerprint, leases: PostgresLeases, store: PostgresStore) {
        self.fingerprint = fingerprint
        self.leases = leases
        self.store = store
    }

    func release() {
        if !released.exchange(true, ordering: .acquiringAndReleasing) { leases.release(fingerprint, store) }
    }
}

extension PostgresStore {
    public nonisolated(nonsending) func tryLease(_ fingerprint: Fingerprint) async throws(CashetError) -> (any CallLease)? {
        try await leases.tryAcquire(fingerprint, self)
    }
}
