/// A line diff in unified format (`diff -u` style), as `cashet diff` prints function sources.
public enum UnifiedDiff {
    /// Lines of context around each change.
    public static let contextLines = 3

    /// The unified diff of `old` and `new`, split into lines; empty when they are equal.
    /// Hunks carry `@@ -a,b +c,d @@` headers; lines start with " ", "-" or "+".
    public static func lines(from old: String, to new: String, oldName: String = "a", newName: String = "b") -> [String] {
        guard old != new else { return [] }
        let a = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let b = new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let edits = script(a, b)
        var output = ["--- \(oldName)", "+++ \(newName)"]
        // Group edits into hunks: changes closer than twice the context share one.
        var index = 0
        while index < edits.count {
            guard edits[index].kind != .same else { index += 1; continue }
            let start = max(0, index - contextLines)
            var lastChange = index
            var cursor = index + 1
            while cursor < edits.count, cursor - lastChange - 1 <= 2 * contextLines {
                if edits[cursor].kind != .same { lastChange = cursor }
                cursor += 1
            }
            let end = min(edits.count, lastChange + contextLines + 1)
            let hunk = edits[start..<end]
            let oldStart = hunk.first.map { $0.oldLine } ?? 0
            let newStart = hunk.first.map { $0.newLine } ?? 0
            let oldCount = hunk.filter { $0.kind != .added }.count
            let newCount = hunk.filter { $0.kind != .removed }.count
            output.append("@@ -\(oldCount == 0 ? oldStart : oldStart + 1),\(oldCount) +\(newCount == 0 ? newStart : newStart + 1),\(newCount) @@")
            for edit in hunk {
                switch edit.kind {
                case .same: output.append(" " + edit.text)
                case .removed: output.append("-" + edit.text)
                case .added: output.append("+" + edit.text)
                }
            }
            index = end
        }
        return output
    }

    private struct Edit {
        enum Kind { case same, removed, added }
        let kind: Kind
        let text: String
        /// Lines of `old` and `new` before this one (0-based positions).
        let oldLine: Int
        let newLine: Int
    }

    /// A shortest edit script by longest common subsequence. Function sources are short; past
    /// four million cells the whole text is shown as replaced rather than spending the memory.
    private static func script(_ a: [String], _ b: [String]) -> [Edit] {
        let n = a.count, m = b.count
        guard n * m <= 4_000_000 else {
            return a.enumerated().map { Edit(kind: .removed, text: $0.element, oldLine: $0.offset, newLine: 0) }
                + b.enumerated().map { Edit(kind: .added, text: $0.element, oldLine: n, newLine: $0.offset) }
        }
        // common[i][j]: length of the LCS of a[i...] and b[j...], in one flat array.
        var common = [Int32](repeating: 0, count: (n + 1) * (m + 1))
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m - 1, through: 0, by: -1) {
                common[i * (m + 1) + j] = a[i] == b[j]
                    ? common[(i + 1) * (m + 1) + j + 1] + 1
                    : max(common[(i + 1) * (m + 1) + j], common[i * (m + 1) + j + 1])
            }
        }
        var edits: [Edit] = []
        var i = 0, j = 0
        while i < n || j < m {
            if i < n, j < m, a[i] == b[j] {
                edits.append(Edit(kind: .same, text: a[i], oldLine: i, newLine: j))
                i += 1
                j += 1
            } else if i < n, j == m || common[(i + 1) * (m + 1) + j] >= common[i * (m + 1) + j + 1] {
                // Removals before additions on a tie, as diff -u prints them.
                edits.append(Edit(kind: .removed, text: a[i], oldLine: i, newLine: j))
                i += 1
            } else {
                edits.append(Edit(kind: .added, text: b[j], oldLine: i, newLine: j))
                j += 1
            }
        }
        return edits
    }
}
