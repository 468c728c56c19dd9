import Synchronization

/// A one-way signal between concurrent tasks: raised once, seen by the other side between chunks of work.
final class StopFlag: Sendable {
    private let raised = Atomic<Bool>(false)

    /// Asks the other side to stop.
    func raise() { raised.store(true, ordering: .releasing) }

    /// Whether `raise()` was called.
    var isRaised: Bool { raised.load(ordering: .acquiring) }
}
