import Cashet
import Foundation

/// A URL's query string as an HTML form sends it (`application/x-www-form-urlencoded`): `+` is a
/// space, `%XX` a byte, keys and values both decoded. Hummingbird's own parameters decode values
/// only, and not `+`.
struct FormQuery {
    private(set) var pairs: [(key: String, value: String)] = []

    init(_ query: String?) {
        guard let query, !query.isEmpty else { return }
        for part in query.split(separator: "&") {
            let halves = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            pairs.append((Self.decode(halves[0]), halves.count > 1 ? Self.decode(halves[1]) : ""))
        }
    }

    /// The first value of `key`; nil when absent, or present but empty (an empty form field).
    subscript(_ key: String) -> String? {
        pairs.first { $0.key == key && !$0.value.isEmpty }?.value
    }

    /// Every non-empty value of `key`.
    func all(_ key: String) -> [String] { pairs.filter { $0.key == key && !$0.value.isEmpty }.map(\.value) }

    /// Whether `key` is set to something other than `0`, `false` or nothing.
    func flag(_ key: String) -> Bool { self[key].map { !["0", "false", "no"].contains($0.lowercased()) } ?? false }

    /// An integer parameter within `range`, `fallback` when absent; `.invalidArgument` otherwise.
    func integer(_ key: String, in range: ClosedRange<Int>, default fallback: Int) throws(CashetError) -> Int {
        guard let text = self[key] else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw CashetError(.invalidArgument, "\(key) must be a whole number from \(range.lowerBound) to \(range.upperBound), got '\(text)'")
        }
        return value
    }

    /// `log`'s filters and paging: `function`, `tag` (`key=value`, repeatable), `since`, `limit`
    /// (1…500, default 50) and `cursor` (a page's `next_cursor`).
    func commitQuery() throws(CashetError) -> CommitQuery {
        var query = try HumanInput.commitQuery(function: self["function"], tags: all("tag"), since: self["since"], tagOption: "tag", sinceOption: "since")
        query.limit = try integer("limit", in: 1...500, default: 50)
        query.before = try self["cursor"].map { text throws(CashetError) in try CommitCursor(parsing: text) }
        return query
    }

    private static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}

extension CommitQuery {
    /// The text of the cursor of the page after `commits` (a page of this query); nil when it
    /// was the last page.
    func nextCursor(after commits: [Commit]) -> String? {
        guard let limit, commits.count == limit, let last = commits.last else { return nil }
        return CommitCursor(after: last).description
    }
}
