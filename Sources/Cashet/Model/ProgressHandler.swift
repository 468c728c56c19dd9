/// Reports progress: work done and total, in units the operation chooses (commits, blobs,
/// bytes). Called from whatever thread does the work, often and cheaply: throttle drawing in the
/// handler. The total may grow while the work goes on (a store written meanwhile).
public typealias ProgressHandler = @Sendable (_ done: Int, _ total: Int) -> Void

/// Counts work done for a ``ProgressHandler``, telling it every 256 items and at the end, so a
/// loop over a million records calls it thousands of times, not a million.
package struct ProgressCount {
    package private(set) var done = 0
    package private(set) var total: Int
    private var reported = 0
    private let handler: ProgressHandler?

    /// A count towards `total` (which grows if the work turns out larger), told to `handler`.
    package init(total: Int, handler: ProgressHandler?) {
        self.total = total
        self.handler = handler
    }

    /// Counts `items` more done.
    package mutating func advance(by items: Int = 1) {
        guard let handler else { return }
        done += items
        total = max(total, done)
        guard done - reported >= 256 || done == total else { return }
        reported = done
        handler(done, total)
    }
}

extension Sequence where Element: Hashable {
    /// The elements in order, each only at its first occurrence.
    package func uniqued() -> [Element] {
        var seen: Set<Element> = []
        return filter { seen.insert($0).inserted }
    }
}
