import Foundation

/// What a store holds, by function and by the day commits were created: the figures behind
/// `cashet serve`'s stats page. Stores keep them as tallies updated with every write and
/// removal, so reading them never scans commits.
public struct StoreBreakdown: Hashable, Sendable {
    /// The commits of one function name, and the bytes of their results.
    public struct FunctionTotals: Hashable, Sendable, Codable {
        /// The function's name.
        public var name: String
        /// Commits of functions with this name.
        public var commits: Int
        /// The sum of their results' sizes (a result shared by two commits counts twice).
        public var bytes: Int

        /// Creates totals.
        public init(name: String, commits: Int, bytes: Int) {
            (self.name, self.commits, self.bytes) = (name, commits, bytes)
        }
    }

    /// The commits created on one day (UTC) that the store still holds.
    public struct DayTotals: Hashable, Sendable, Codable {
        /// Midnight UTC at the start of the day.
        public var day: Date
        /// Commits created that day.
        public var commits: Int
        /// The sum of their results' sizes.
        public var bytes: Int

        /// Creates totals.
        public init(day: Date, commits: Int, bytes: Int) {
            (self.day, self.commits, self.bytes) = (day, commits, bytes)
        }
    }

    /// Every function name with commits, the most bytes first.
    public var functions: [FunctionTotals]
    /// The most recent days with commits (at most the number asked for), oldest first.
    public var days: [DayTotals]
    /// Commits created before the first of ``days``: where the growth curve starts.
    public var earlierCommits: Int
    /// The bytes of their results.
    public var earlierBytes: Int
    /// False when the store keeps no tallies: an LMDB store made before they existed, or whose
    /// tallies an earlier release left behind its commits, until `cashet fsck --repair` counts
    /// them; or a store type that does not keep them.
    public var isTracked: Bool

    /// Creates a breakdown.
    public init(functions: [FunctionTotals] = [], days: [DayTotals] = [], earlierCommits: Int = 0, earlierBytes: Int = 0, isTracked: Bool) {
        self.functions = functions
        self.days = days
        self.earlierCommits = earlierCommits
        self.earlierBytes = earlierBytes
        self.isTracked = isTracked
    }

    /// The breakdown of a store that keeps no tallies.
    public static let untracked = StoreBreakdown(isTracked: false)
}

/// Changes to a store's tallies made by one transaction: +1 for each commit added, -1 for
/// each removed, with its result's size, under its function's name and its creation day.
/// Every store applies it the same way (``StoreBreakdown``).
package struct TallyDelta: Sendable, Equatable {
    /// Commits and bytes to add (negative: to remove).
    package struct Change: Sendable, Equatable {
        package var commits = 0
        package var bytes = 0

        package init(commits: Int = 0, bytes: Int = 0) { (self.commits, self.bytes) = (commits, bytes) }

        package static func + (a: Change, b: Change) -> Change { Change(commits: a.commits + b.commits, bytes: a.bytes + b.bytes) }
    }

    package var functions: [String: Change] = [:]
    /// Keyed by ``day(of:)``.
    package var days: [Int64: Change] = [:]

    package init() {}

    package var isEmpty: Bool { functions.isEmpty && days.isEmpty }

    /// Counts `commit` in (`sign` +1) or out (-1).
    package mutating func count(_ commit: Commit, _ sign: Int) {
        let change = Change(commits: sign, bytes: sign * (commit.output?.size ?? 0))
        functions[commit.task.functionName] = (functions[commit.task.functionName] ?? Change()) + change
        let day = Self.day(of: commit.createdAt)
        days[day] = (days[day] ?? Change()) + change
    }

    /// Days since 1970-01-01 (UTC), rounded down.
    package static func day(of date: Date) -> Int64 {
        let nanoseconds = CanonicalCommit.nanoseconds(date)
        let perDay: Int64 = 86_400_000_000_000
        return nanoseconds >= 0 ? nanoseconds / perDay : (nanoseconds + 1) / perDay - 1
    }

    /// Midnight UTC of a ``day(of:)``.
    package static func date(ofDay day: Int64) -> Date { Date(timeIntervalSince1970: Double(day) * 86_400) }

    /// The same changes without rows that change nothing (to compare two tallies).
    package var withoutEmptyRows: TallyDelta {
        var trimmed = self
        trimmed.functions = functions.filter { $0.value != Change() }
        trimmed.days = days.filter { $0.value != Change() }
        return trimmed
    }

    /// The sum of both deltas.
    package func adding(_ other: TallyDelta) -> TallyDelta {
        var sum = self
        sum.functions.merge(other.functions, uniquingKeysWith: +)
        sum.days.merge(other.days, uniquingKeysWith: +)
        return sum
    }
}

extension StoreBreakdown {
    /// A breakdown from raw tallies: rows with no commits left dropped, functions by bytes
    /// (then commits, then name), and the last `keepingDays` days, the ones before added to
    /// ``earlierCommits`` and ``earlierBytes``.
    package static func assembled(_ tallies: TallyDelta, keepingDays: Int, isTracked: Bool) -> StoreBreakdown {
        let (functions, days) = (tallies.functions, tallies.days)
        let functionTotals = functions.filter { $0.value.commits > 0 }.map { FunctionTotals(name: $0.key, commits: $0.value.commits, bytes: $0.value.bytes) }
            .sorted { ($0.bytes, $0.commits, $1.name) > ($1.bytes, $1.commits, $0.name) }
        let sortedDays = days.filter { $0.value.commits > 0 }.sorted { $0.key < $1.key }
        let keepingDays = max(keepingDays, 1)
        let dropped = sortedDays.dropLast(keepingDays)
        let kept = sortedDays.suffix(keepingDays).map { DayTotals(day: TallyDelta.date(ofDay: $0.key), commits: $0.value.commits, bytes: $0.value.bytes) }
        let before = dropped.reduce((commits: 0, bytes: 0)) { ($0.commits + $1.value.commits, $0.bytes + $1.value.bytes) }
        return StoreBreakdown(functions: functionTotals, days: kept, earlierCommits: before.commits, earlierBytes: before.bytes, isTracked: isTracked)
    }
}
