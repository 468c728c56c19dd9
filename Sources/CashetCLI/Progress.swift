import Foundation
import Synchronization

/// A progress line on standard error, drawn only when standard error is a terminal, at most
/// ten times a second, and erased when the operation ends.
final class Progress: Sendable {
    private let label: String
    private let enabled = isatty(STDERR_FILENO) == 1
    private let start = Date()
    private let state = Mutex<(done: Int, total: Int, lastDraw: Date)>((0, 0, .distantPast))

    init(_ label: String) { self.label = label }

    /// Runs `operation` with a progress line; without counts it shows the elapsed time.
    static func during<T>(_ label: String, _ operation: (Progress) async throws -> T) async rethrows -> T {
        let progress = Progress(label)
        progress.draw(force: true)
        let ticker = Task { [progress] in
            while !Task.isCancelled {
                progress.draw(force: false)
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        defer {
            ticker.cancel()
            progress.finish()
        }
        return try await operation(progress)
    }

    /// Records that `done` of `total` items are finished.
    func update(done: Int, total: Int) {
        state.withLock { $0.done = done; $0.total = total }
        draw(force: false)
    }

    private func draw(force: Bool) {
        guard enabled else { return }
        let line: String? = state.withLock { state in
            let now = Date()
            guard force || now.timeIntervalSince(state.lastDraw) >= 0.1 else { return nil }
            state.lastDraw = now
            let elapsed = String(format: "%.1f s", now.timeIntervalSince(start))
            guard state.total > 0 else { return "\(label)… \(elapsed)" }
            let fraction = min(1, Double(state.done) / Double(state.total))
            let filled = Int(fraction * 30)
            return "\(label) [\(String(repeating: "#", count: filled))\(String(repeating: " ", count: 30 - filled))] \(Int(fraction * 100))% \(state.done)/\(state.total) \(elapsed)"
        }
        if let line { FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8)) }
    }

    private func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
