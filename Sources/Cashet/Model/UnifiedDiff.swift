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

    /// A shortest edit script: the standard library's `difference(from:)` (Myers, memory linear
    /// in the lines plus the edits, so two long sources cost no table of every line pair).
    private static func script(_ a: [String], _ b: [String]) -> [Edit] {
        var removed = Set<Int>(), inserted = Set<Int>()
        for change in b.difference(from: a) {
            switch change {
            case .remove(let offset, _, _): removed.insert(offset)
            case .insert(let offset, _, _): inserted.insert(offset)
            }
        }
        var edits: [Edit] = []
        var i = 0, j = 0
        while i < a.count || j < b.count {
            // Removals before additions, as diff -u prints them.
            if i < a.count, removed.contains(i) {
                edits.append(Edit(kind: .removed, text: a[i], oldLine: i, newLine: j))
                i += 1
            } else if j < b.count, inserted.contains(j) {
                edits.append(Edit(kind: .added, text: b[j], oldLine: i, newLine: j))
                j += 1
            } else {
                edits.append(Edit(kind: .same, text: a[i], oldLine: i, newLine: j))
                i += 1
                j += 1
            }
        }
        return edits
    }
}
