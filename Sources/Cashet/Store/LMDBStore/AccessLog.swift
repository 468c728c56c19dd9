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
package final class AccessLog: Sendable {
    /// Pending hits at which a background flush is started.
    package let flushThreshold: Int
    private let pending = Locked<[ContentHash: Int64]>([:])

    package init(flushThreshold: Int = 8192) {
        self.flushThreshold = flushThreshold
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
        pending.withLock { pending in
            pending[commit] = nanoseconds
            return pending.count == flushThreshold
        }
    }

    /// Takes every pending time, leaving the log empty.
    package func drain() -> [ContentHash: Int64] {
        pending.withLock { pending in
            let taken = pending
            pending = [:]
            return taken
        }
    }

    /// Whether any time waits to be written.
    package var isEmpty: Bool { pending.withLock { $0.isEmpty } }
}
