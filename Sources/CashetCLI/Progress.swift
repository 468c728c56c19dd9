import Foundation
import Synchronization

/// A progress line on standard error, as `git` draws one: only when standard error is a
/// terminal, only once the work has lasted a moment (`CASHET_PROGRESS_DELAY` seconds, 1 by
/// default), at most ten times a second, and erased when the operation ends. With counts it
/// shows n/N, the rate and the time left; without, the time so far.
final class Progress: Sendable {
    private let label: String
    private let enabled = isatty(STDERR_FILENO) == 1
    private let start = ContinuousClock.now
    private let delay: Duration
    private let state = Mutex<(done: Int, total: Int, lastDraw: ContinuousClock.Instant?, drawn: Bool)>((0, 0, nil, false))

    init(_ label: String) {
        self.label = label
        let seconds = ProcessInfo.processInfo.environment["CASHET_PROGRESS_DELAY"].flatMap(Double.init) ?? 1
        delay = .milliseconds(Int((seconds.isFinite ? max(0, min(seconds, 3600)) : 1) * 1000))
    }

    /// Runs `operation` with a progress line.
    static func during<T>(_ label: String, _ operation: (Progress) async throws -> T) async rethrows -> T {
        let progress = Progress(label)
        progress.draw()   // at once when there is no delay: the ticker may first run after a short operation ends
        let ticker = Task { [progress] in
            while !Task.isCancelled {
                progress.draw()
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
    @Sendable func update(done: Int, total: Int) {
        state.withLock { $0.done = done; $0.total = total }
        draw(finished: done >= total)
    }

    /// Draws the line if the work has lasted long enough, and the last line is 100 ms old or
    /// the work is `finished` (so the last count is always shown).
    private func draw(finished: Bool = false) {
        guard enabled else { return }
        let line: String? = state.withLock { state in
            let now = ContinuousClock.now
            let elapsed = now - start
            guard elapsed >= delay, finished || state.lastDraw.map({ now - $0 >= .milliseconds(100) }) ?? true else { return nil }
            state.lastDraw = now
            state.drawn = true
            return Self.line(label, done: state.done, total: state.total, elapsed: elapsed)
        }
        if let line { FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8)) }
    }

    /// `label [#####     ] 50% 5,000/10,000 2,500/s ETA 2 s`; `label… 3.0 s` without counts.
    static func line(_ label: String, done: Int, total: Int, elapsed: Duration) -> String {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        guard total > 0 else { return "\(label)… \(String(format: "%.1f s", seconds))" }
        let fraction = min(1, Double(done) / Double(total))
        let filled = Int(fraction * 30)
        let rate = seconds > 0 ? Double(done) / seconds : 0
        let left = rate > 0 ? "ETA \(duration(Double(total - min(done, total)) / rate))" : "ETA -"
        return "\(label) [\(String(repeating: "#", count: filled))\(String(repeating: " ", count: 30 - filled))] \(Int(fraction * 100))% "
            + "\(done)/\(total) \(Int(rate))/s \(left)"
    }

    /// `42 s`, `3 min 20 s`, `2 h 05 min`.
    static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.up))
        if whole < 60 { return "\(whole) s" }
        if whole < 3600 { return "\(whole / 60) min \(whole % 60) s" }
        return "\(whole / 3600) h \(String(format: "%02d", whole % 3600 / 60)) min"
    }

    private func finish() {
        guard enabled, state.withLock({ $0.drawn }) else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
