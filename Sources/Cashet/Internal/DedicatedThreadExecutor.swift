import Foundation
import Synchronization

/// A task executor with a thread of its own, for work that must keep time whatever the rest of
/// the process does: a lease heartbeat must not wait behind CPU-bound bodies that fill every
/// thread of the cooperative pool, or the lease expires and another machine runs the call.
///
/// `Task(executorPreference: executor) { … }` runs the task's code on this thread (network I/O
/// still completes on its own threads). The thread runs until ``stop()``; call it when the work
/// is over (a store's `close`).
package final class DedicatedThreadExecutor: TaskExecutor, @unchecked Sendable {
    // The queue and the stop flag are guarded by `condition`.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopped = false

    /// Starts the thread, named `name` (seen in debuggers and `top -H`).
    package init(name: String) {
        // The thread holds the executor until `stop()`: jobs may arrive for as long as it lives.
        let thread = Thread { self.run() }
        thread.name = name
        thread.start()
    }

    package func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        condition.lock()
        jobs.append(unowned)
        condition.signal()
        condition.unlock()
    }

    /// Ends the thread once the jobs queued so far have run.
    package func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopped { condition.wait() }
            if jobs.isEmpty && stopped {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
