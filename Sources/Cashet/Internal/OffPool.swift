import Foundation

/// Runs a call that may block for long (a file lock another process holds, pipe I/O, waiting
/// for a child) on a thread of its own, so the few threads of Swift's cooperative pool, which
/// every task and timer of the process shares, are never held by it.
func runOffPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}
