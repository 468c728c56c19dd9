import Synchronization

/// The store's flushes that run aside (the journal's timed flush, the access log's flush that
/// hits start), so ``LMDBStore/close()`` can wait for them: once it returns, no flush holds the
/// store, and a store its owner lets go of is released at once, its LMDB environment with it.
/// Then this process can take the store to itself (`rebuild`, `migrate`, `compact`) without
/// racing a flush that happened to be running.
final class BackgroundFlushes: Sendable {
    private let state = Mutex<(closed: Bool, next: Int, running: [Int: Task<Void, Never>])>((false, 0, [:]))

    /// Runs `work` in a detached task, unless the store was closed (then false, and nothing runs).
    func start(_ work: @escaping @Sendable () async -> Void) -> Bool {
        state.withLock { state in
            guard !state.closed else { return false }
            let id = state.next
            state.next += 1
            // Inserted under the lock the task's own removal takes: it cannot be removed first.
            state.running[id] = Task.detached { [weak self] in
                await work()
                self?.finished(id)
            }
            return true
        }
    }

    private func finished(_ id: Int) {
        _ = state.withLock { $0.running.removeValue(forKey: id) }
    }

    /// Starts no more flushes, cancels those waiting for their time, and waits for those running.
    func closeAndWait() async {
        let running = state.withLock { state in
            state.closed = true
            return Array(state.running.values)
        }
        for task in running { task.cancel() }
        for task in running { await task.value }
    }
}
