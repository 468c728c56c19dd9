import CCashetSystem
import Synchronization

/// A value behind Synchronization's `Mutex`, with the lock's hand-over shown to
/// ThreadSanitizer. On Linux a contended `Mutex` waits in a futex system call that TSan cannot
/// see, so without the annotations every contended section looks like a race. Outside TSan
/// builds the annotations are empty C calls.
package final class Locked<Value: ~Copyable>: Sendable {
    private let mutex: Mutex<Value>

    package init(_ value: consuming sending Value) {
        mutex = Mutex(value)
    }

    /// Runs `body` with exclusive access to the value.
    package func withLock<Result: ~Copyable, E: Error>(_ body: (inout sending Value) throws(E) -> sending Result) throws(E) -> sending Result {
        try mutex.withLock { (value: inout sending Value) throws(E) -> sending Result in
            // The object's address names the lock for TSan; it is stable while `self` lives.
            let address = Unmanaged.passUnretained(self).toOpaque()
            cashet_tsan_acquire(address)
            defer { cashet_tsan_release(address) }
            return try body(&value)
        }
    }
}
