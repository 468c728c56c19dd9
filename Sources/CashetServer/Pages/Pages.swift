import Cashet
import Foundation

/// The web UI's pages, rendered from what the routes read. Everything from the store is escaped.
enum Pages {
    // MARK: Commit list

    static func commitList(_ commits: [Commit], form: FormQuery, nextCursor: String?, message: String? = nil) -> String {
        let field = { (name: String) in HTML.escape(form[name] ?? "") }
        var body = "<h1>Commits</h1>"
        if let message { body += "<p class=\"error\">\(HTML.escape(message))</p>" }
        body += """
        <form class="filters" action="/" method="get">
        <label>function<input name="function" value="\(field("function"))"></label>
        <label>tag (key=value)<input name="tag" value="\(HTML.escape(form.all("tag").first ?? ""))"></label>
        <label>since (7d, 2026-11-25)<input name="since" value="\(field("since"))"></label>
        <button>Filter</button></form>
        """
        if commits.isEmpty {
            body += "<p class=\"muted\">No commits match.</p>"
        } else {
            body += "<table class=\"commits\"><thead><tr><th>commit</th><th>status</th><th>created</th><th>result</th><th>call</th><th>tags</th></tr></thead><tbody>"
            for commit in commits {
                let call = commit.task.functionName + commit.task.argumentsSnapshot
                body += """
                <tr><td>\(HTML.commitLink(commit.hash))</td><td class="\(commit.status.rawValue)">\(commit.status.rawValue)</td>\
                <td>\(HTML.date(commit.createdAt))</td><td>\(commit.output.map { HTML.escape(HumanOutput.size($0.size)) } ?? "–")</td>\
                <td class="mono">\(HTML.escape(HumanOutput.truncated(call, to: 90)))</td><td>\(HTML.tags(commit.tags))</td></tr>
                """
            }
            body += "</tbody></table>"
        }
        if let nextCursor {
            var parameters = form.pairs.filter { !["cursor", "q"].contains($0.key) && !$0.value.isEmpty }
            parameters.append(("cursor", nextCursor))
            body += "<p class=\"pager\"><a rel=\"next\" href=\"/?\(parameters.map { "\(HTML.query($0.key))=\(HTML.query($0.value))" }.joined(separator: "&amp;"))\">Older commits →</a></p>"
        }
        return HTML.page(title: "Commits", body)
    }

    // MARK: Commit

    static func commit(_ commit: Commit, lineage: Lineage, preview: String?, producers: [ContentHash]?) -> String {
        var rows: [(String, String)] = []
        if let producers, let output = commit.output {
            rows.append(("result", "<span class=\"mono\">\(output.hash.hex)</span>, produced by \(producers.count) commit(s): " + producers.prefix(10).map(HTML.commitLink).joined(separator: " ")))
        }
        rows.append(("commit", "<span class=\"mono\">\(commit.hash.hex)</span>"))
        rows.append(("function", HTML.escape(commit.task.functionName) + (commit.task.functionVersion.isEmpty ? "" : " <span class=\"muted\">version \(HTML.escape(commit.task.functionVersion))</span>")))
        rows.append(("identity", "<span class=\"mono\">\(commit.fingerprint.functionHash.hex)</span>"))
        rows.append(("args", "<span class=\"mono\">\(HTML.escape(commit.task.argumentsSnapshot))</span>"))
        rows.append(("status", "<span class=\"\(commit.status.rawValue)\">\(commit.status.rawValue)</span>" + (commit.task.cacheable ? "" : " (cache disabled)")))
        if let error = commit.error { rows.append(("error", "<span class=\"mono\">\(HTML.escape(error))</span>")) }
        if let output = commit.output {
            rows.append(("output", """
            <span class="mono">\(output.hash.hex)</span> (\(HTML.escape(HumanOutput.size(output.size)))) · \
            <a href="/api/results/\(commit.hash.hex)">bytes</a> · <a href="/api/results/\(commit.hash.hex)/json">JSON</a>
            """))
            if let preview { rows.append(("value", "<pre class=\"value\">\(HTML.escape(preview))</pre>")) }
        }
        rows.append(("created", HTML.date(commit.createdAt) + " <span class=\"muted\">\(HumanOutput.isoString(commit.createdAt))</span>"))
        if !commit.tags.isEmpty { rows.append(("tags", HTML.tags(commit.tags))) }
        rows.append(("parent", commit.parent.map { HTML.commitLink($0) + " · <a href=\"/diff/\($0.hex)/\(commit.hash.hex)\">diff with parent</a>" } ?? "–"))
        var body = "<h1>Commit <span class=\"mono\">\(commit.hash.shortHex)</span></h1><table class=\"fields\">"
        body += rows.map { "<tr><th>\($0.0)</th><td>\($0.1)</td></tr>" }.joined() + "</table>"
        body += "<h2>Lineage</h2>" + LineageGraph.svg(commit: commit, lineage: lineage)
        body += "<p><a href=\"/commits/\(commit.hash.hex)/history\">Every commit of this call</a></p>"
        if let manifest = commit.task.identityManifest { body += identity(manifest) }
        body += "<h2>Source</h2>" + (commit.task.source.map { "<pre class=\"source\">\(HTML.escape($0))</pre>" } ?? "<p class=\"muted\">Not recorded.</p>")
        return HTML.page(title: "Commit \(commit.hash.shortHex)", body)
    }

    private static func identity(_ manifest: IdentityManifest) -> String {
        var body = "<h2>Identity inputs</h2>"
        if manifest.helpers.isEmpty { body += "<p class=\"muted\">Reaches no other declaration.</p>" }
        body += "<table><tbody>" + manifest.helpers.prefix(100).map { helper in
            "<tr><td>\(HTML.escape(helper.kind))</td><td class=\"mono\">\(HTML.escape(helper.signature))</td><td class=\"muted\">\(HTML.escape(helper.file)):\(helper.line)</td></tr>"
        }.joined() + "</tbody></table>"
        if manifest.helpers.count > 100 { body += "<p class=\"muted\">… and \(manifest.helpers.count - 100) more (the API lists them all).</p>" }
        if !manifest.dependencies.isEmpty {
            body += "<p>Packages: " + manifest.dependencies.map { HTML.escape("\($0.package) \($0.versionDescription)") }.joined(separator: ", ") + "</p>"
        }
        if !manifest.ignoredDependencies.isEmpty { body += "<p class=\"muted\">Ignores: \(HTML.escape(manifest.ignoredDependencies.joined(separator: ", ")))</p>" }
        return body
    }

    static func history(_ commits: [Commit], of hash: String) -> String {
        var body = "<h1>History of a call</h1><p class=\"muted\">Every commit of the same function and arguments, oldest first.</p><table><tbody>"
        for (index, commit) in commits.enumerated() {
            let diff = index > 0 ? "<a href=\"/diff/\(commits[index - 1].hash.hex)/\(commit.hash.hex)\">diff with previous</a>" : ""
            body += "<tr><td>\(HTML.commitLink(commit.hash))</td><td class=\"\(commit.status.rawValue)\">\(commit.status.rawValue)</td><td>\(HTML.date(commit.createdAt))</td><td>\(diff)</td></tr>"
        }
        return HTML.page(title: "History", body + "</tbody></table>")
    }

    static func producers(_ commits: [Commit], result: String) -> String {
        var body = "<h1>Result <span class=\"mono\">\(HTML.escape(String(result.prefix(12))))</span></h1><p>Produced by:</p><table><tbody>"
        for commit in commits {
            body += "<tr><td>\(HTML.commitLink(commit.hash))</td><td>\(HTML.escape(commit.task.functionName))</td><td>\(HTML.date(commit.createdAt))</td></tr>"
        }
        return HTML.page(title: "Result", body + "</tbody></table>")
    }

    // MARK: Diff

    static func diffForm(a: String = "", b: String = "", message: String? = nil) -> String {
        var body = "<h1>Diff two commits</h1>"
        if let message { body += "<p class=\"error\">\(HTML.escape(message))</p>" }
        body += """
        <form class="filters" action="/diff" method="get"><label>a<input name="a" value="\(HTML.escape(a))"></label>\
        <label>b<input name="b" value="\(HTML.escape(b))"></label><button>Compare</button></form>
        """
        return HTML.page(title: "Diff", body)
    }

    static func diff(_ diff: CommitDiff) -> String {
        let (old, new) = (diff.old, diff.new)
        var body = "<h1>Diff</h1><table class=\"fields\">"
        body += "<tr><th>a</th><td>\(HTML.commitLink(old.hash)) \(HTML.escape(old.task.functionName)) \(HTML.date(old.createdAt))</td></tr>"
        body += "<tr><th>b</th><td>\(HTML.commitLink(new.hash)) \(HTML.escape(new.task.functionName)) \(HTML.date(new.createdAt))</td></tr>"
        body += "<tr><th>function</th><td>" + (diff.functionChanged ? "changed: \(old.fingerprint.functionHash.shortHex) → \(new.fingerprint.functionHash.shortHex)" : "same (\(old.fingerprint.functionHash.shortHex))")
        let changes = diff.identityChanges.filter { $0.kind != .source }
        if !changes.isEmpty { body += "<ul>" + changes.map { "<li>\(HTML.escape($0.description))</li>" }.joined() + "</ul>" }
        body += "</td></tr>"
        body += "<tr><th>args</th><td class=\"mono\">" + (diff.argumentsChanged ? "− \(HTML.escape(old.task.argumentsSnapshot))<br>+ \(HTML.escape(new.task.argumentsSnapshot))" : "same \(HTML.escape(old.task.argumentsSnapshot))") + "</td></tr>"
        let sizes = "\(old.output.map { HumanOutput.size($0.size) } ?? "none") → \(new.output.map { HumanOutput.size($0.size) } ?? "none")"
        body += "<tr><th>output</th><td>" + (diff.outputChanged ? "different (\(HTML.escape(sizes)))" : "same (\(old.output.map { "\($0.hash.shortHex), \(HumanOutput.size($0.size))" } ?? "none"))") + "</td></tr>"
        body += "<tr><th>status</th><td>" + (diff.statusChanged ? "\(old.status.rawValue) → \(new.status.rawValue)" : "same (\(old.status.rawValue))") + "</td></tr></table>"
        body += "<h2>Source</h2>"
        let lines = diff.sourceDiff
        if lines.isEmpty {
            body += "<p class=\"muted\">" + (old.task.source == nil || new.task.source == nil ? "A source was not recorded." : "Same source.") + "</p>"
        } else {
            body += "<pre class=\"diff\">" + lines.map { line -> String in
                let kind = line.hasPrefix("@@") ? "hunk" : line.hasPrefix("+") ? "add" : line.hasPrefix("-") ? "del" : "ctx"
                return "<span class=\"\(kind)\">\(HTML.escape(line))</span>"
            }.joined() + "</pre>"
        }
        return HTML.page(title: "Diff", body)
    }

    // MARK: Stats

    static func stats(_ stats: StoreStats, _ breakdown: StoreBreakdown) -> String {
        let cards: [(String, String)] = [
            ("commits", "\(stats.commits)"), ("failed", "\(stats.failed)"), ("functions", "\(stats.functions)"),
            ("results", "\(stats.blobs)"), ("result bytes", HumanOutput.size(stats.logicalBytes)), ("stored", HumanOutput.size(stats.storedBytes)),
            ("on disk", HumanOutput.size(stats.diskBytes)), ("hit rate", stats.hitRate.map { String(format: "%.1f%%", $0 * 100) } ?? "–"),
        ]
        var body = "<h1>Store</h1><div class=\"cards\">" + cards.map { "<div class=\"card\"><div class=\"value\">\(HTML.escape($0.1))</div><div class=\"label\">\($0.0)</div></div>" }.joined() + "</div>"
        guard breakdown.isTracked else {
            body += "<p class=\"muted\">This store keeps no tallies by function and by day yet (it was made before they existed): <code>cashet fsck --repair</code> counts them once, and every write keeps them from then on.</p>"
            return HTML.page(title: "Stats", body)
        }
        var commits = Double(breakdown.earlierCommits), bytes = Double(breakdown.earlierBytes)
        var commitCurve: [Double] = [], byteCurve: [Double] = []
        for day in breakdown.days {
            commits += Double(day.commits)
            bytes += Double(day.bytes)
            commitCurve.append(commits)
            byteCurve.append(bytes)
        }
        let first = breakdown.days.first.map { HumanOutput.isoDay($0.day) } ?? ""
        let last = breakdown.days.last.map { HumanOutput.isoDay($0.day) } ?? ""
        let count = { (value: Double) in String(Int(value)) }
        let size = { (value: Double) in HumanOutput.size(Int(value)) }
        body += "<h2>Growth: commits held, by creation day</h2>" + SVGCharts.line(commitCurve, firstLabel: first, lastLabel: last, format: count, title: "commits over time")
        body += "<h2>Growth: result bytes held, by creation day</h2>" + SVGCharts.line(byteCurve, firstLabel: first, lastLabel: last, format: size, title: "result bytes over time")
        let top = breakdown.functions.prefix(20)
        body += "<h2>Result bytes by function</h2>" + SVGCharts.bars(top.map { ($0.name, Double($0.bytes)) }, format: size, title: "bytes by function")
        body += "<h2>Commits by function</h2>" + SVGCharts.bars(top.sorted { $0.commits > $1.commits }.map { ($0.name, Double($0.commits)) }, format: count, title: "commits by function")
        body += "<table><thead><tr><th>function</th><th>commits</th><th>result bytes</th></tr></thead><tbody>" + top.map {
            "<tr><td><a href=\"/?function=\(HTML.query($0.name))\">\(HTML.escape($0.name))</a></td><td>\($0.commits)</td><td>\(HTML.escape(HumanOutput.size($0.bytes)))</td></tr>"
        }.joined() + "</tbody></table>"
        if breakdown.functions.count > top.count { body += "<p class=\"muted\">… and \(breakdown.functions.count - top.count) more functions.</p>" }
        return HTML.page(title: "Stats", body)
    }

    // MARK: Errors and login

    static func error(_ error: APIError, loginForm: Bool) -> String {
        var body = "<h1>\(error.status.code) \(HTML.escape(error.status.reasonPhrase))</h1><p class=\"error\">\(HTML.escape(error.message))</p>"
        if loginForm {
            body += """
            <form class="filters" action="/login" method="post"><label>token<input name="token" type="password" autocomplete="current-password"></label><button>Sign in</button></form>
            """
        }
        return HTML.page(title: "\(error.status.code)", body)
    }
}
