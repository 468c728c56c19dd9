import Foundation
import Synchronization

/// When commits were last served as cache hits, kept in memory and written in batches.
///
/// A hit must not write (it would serialize every reader behind LMDB's one writer and pay an
/// fsync), so ``LMDBStore`` notes the time here and writes the pending times into the `access`
/// table inside its next write transaction, in a background flush once `flushThreshold` hits
/// are pending, and when the store is released. Access times only order `gc --max-size`
/// (least recently used first): a crash that loses pending times makes those commits look
/// older than they are, never loses a result.
///
/// It also counts calls answered from the cache and calls that ran (``Store/noteCalls(hits:misses:)``),
/// written with the times.
package final class AccessLog: Sendable {
    /// What waits to be written.
    package struct Pending: Sendable {
        /// The last hit time of each commit, in nanoseconds since 1970.
        package var times: [ContentHash: Int64] = [:]
        /// Calls answered from the cache and calls that ran, since the last write.
        package var hits: UInt64 = 0
        package var misses: UInt64 = 0

        package var isEmpty: Bool { times.isEmpty && hits == 0 && misses == 0 }
    }

    /// Pending hits at which a background flush is started.
    package let flushThreshold: Int
    /// Counted calls at which a background flush is started.
    private let callFlushThreshold: UInt64
    private let times = Locked<[ContentHash: Int64]>([:])
    // Atomics, not the times' lock: every hit counts itself here.
    private let hits = Atomic<UInt64>(0)
    private let misses = Atomic<UInt64>(0)

    package init(flushThreshold: Int = 8192) {
        self.flushThreshold = flushThreshold
        callFlushThreshold = UInt64(flushThreshold) * 8
    }

    /// The time of a hit, in nanoseconds since 1970, read without going through `Date`. Not the
    /// coarse clock: it lags by up to a tick, and a hit must order after a commit made just before.
    package static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    /// Notes a hit on `commit` now; returns true exactly when this note makes a flush due.
    package func note(_ commit: ContentHash, at nanoseconds: Int64) -> Bool {
        times.withLock { times in
            times[commit] = nanoseconds
            return times.count == flushThreshold
        }
    }

    /// Counts calls; returns true when this count makes a flush due (once per threshold's worth
    /// of hits or of misses).
    package func count(hits: Int, misses: Int) -> Bool {
        func add(_ value: Int, to counter: borrowing Atomic<UInt64>) -> Bool {
            guard value > 0 else { return false }
            let after = counter.wrappingAdd(UInt64(value), ordering: .relaxed).newValue
            return after / callFlushThreshold != (after - UInt64(value)) / callFlushThreshold
        }
        let hitsDue = add(hits, to: self.hits)
        return add(misses, to: self.misses) || hitsDue
    }

    /// Takes everything pending, leaving the log empty.
    package func drain() -> Pending {
        Pending(times: times.withLock { times in
            let taken = times
            times = [:]
            return taken
        }, hits: hits.exchange(0, ordering: .relaxed), misses: misses.exchange(0, ordering: .relaxed))
    }

    /// Puts back what a write that failed had taken (a time noted since then wins).
    package func restore(_ taken: Pending) {
        times.withLock { $0.merge(taken.times) { newer, _ in newer } }
        hits.wrappingAdd(taken.hits, ordering: .relaxed)
        misses.wrappingAdd(taken.misses, ordering: .relaxed)
    }

    /// The calls counted and not yet written (`stats` adds them to the written counts).
    package var pendingCalls: (hits: UInt64, misses: UInt64) {
        (hits.load(ordering: .relaxed), misses.load(ordering: .relaxed))
    }

    /// Whether anything waits to be written.
    package var isEmpty: Bool {
        hits.load(ordering: .relaxed) == 0 && misses.load(ordering: .relaxed) == 0 && times.withLock { $0.isEmpty }
    }
}
