/// At most `permits` holders at once; the others wait in order.
actor Gate {
    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(permits: Int) { free = permits }

    /// Waits for a permit; the caller must `leave()` it.
    func enter() async -> Permit {
        if free > 0 {
            free -= 1
        } else {
            await withCheckedContinuation { waiting.append($0) }
        }
        return Permit(gate: self)
    }

    fileprivate func release() {
        if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
    }

    /// A permit held; give it back with ``leave()``.
    struct Permit: Sendable {
        fileprivate let gate: Gate

        func leave() async { await gate.release() }
    }
}
