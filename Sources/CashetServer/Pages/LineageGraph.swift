import Cashet
import Foundation

/// A commit's lineage drawn as SVG: its parent chain above it (oldest at the top), and the
/// results it took as `ResultRef` arguments to its left, each linked to its page.
enum LineageGraph {
    static func svg(commit: Commit, lineage: Lineage) -> String {
        let (nodeWidth, nodeHeight, gap) = (250.0, 40.0, 26.0)
        let chain = lineage.parents.reversed() + [commit]
        let inputs = lineage.inputs
        let columnX = inputs.isEmpty ? 20.0 : 20.0 + nodeWidth + 80
        let chainTop = lineage.moreParents ? 34.0 : 14.0
        let commitY = chainTop + Double(chain.count - 1) * (nodeHeight + gap)
        let inputsTop = max(14, commitY + nodeHeight / 2 - (Double(inputs.count) * (nodeHeight + 12) - 12) / 2)
        let height = max(commitY + nodeHeight, inputsTop + Double(inputs.count) * (nodeHeight + 12) - 12) + 14
        let width = columnX + nodeWidth + 20
        var parts: [String] = []
        parts.append("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#8b949e\"/></marker></defs>")
        if lineage.moreParents {
            parts.append("<text x=\"\(columnX + nodeWidth / 2)\" y=\"20\" text-anchor=\"middle\">⋯ earlier commits of this call</text>")
        }
        for (index, node) in chain.enumerated() {
            let y = chainTop + Double(index) * (nodeHeight + gap)
            if index > 0 {
                parts.append("<path class=\"edge\" d=\"M\(columnX + nodeWidth / 2),\(y - gap) L\(columnX + nodeWidth / 2),\(y)\" marker-end=\"url(#arrow)\"/>")
            }
            let label = "\(node.hash.shortHex)  \(HumanOutput.isoString(node.createdAt).prefix(19).replacingOccurrences(of: "T", with: " "))"
            parts.append(box(x: columnX, y: y, width: nodeWidth, height: nodeHeight, link: "/commits/\(node.hash.hex)",
                             kind: node.hash == commit.hash ? "node current" : "node", lines: [label, node.status == .failed ? "failed" : node.task.functionName]))
        }
        for (index, input) in inputs.enumerated() {
            let y = inputsTop + Double(index) * (nodeHeight + 12)
            parts.append("<path class=\"edge\" d=\"M\(20 + nodeWidth),\(y + nodeHeight / 2) C\(20 + nodeWidth + 40),\(y + nodeHeight / 2) \(columnX - 40),\(commitY + nodeHeight / 2) \(columnX),\(commitY + nodeHeight / 2)\" marker-end=\"url(#arrow)\"/>")
            parts.append(box(x: 20, y: y, width: nodeWidth, height: nodeHeight, link: "/results/\(input.hex)", kind: "node input",
                             lines: ["result \(input.shortHex)", "input \(index + 1)"]))
        }
        return "<svg viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"lineage\">"
            + parts.joined() + "</svg>"
    }

    private static func box(x: Double, y: Double, width: Double, height: Double, link: String, kind: String, lines: [String]) -> String {
        let texts = lines.enumerated().map { index, line in
            "<text x=\"\(x + 10)\" y=\"\(y + 16 + Double(index) * 15)\">\(HTML.escape(HumanOutput.truncated(line, to: 34)))</text>"
        }.joined()
        return "<a href=\"\(link)\"><g class=\"\(kind)\"><rect x=\"\(x)\" y=\"\(y)\" width=\"\(width)\" height=\"\(height)\" rx=\"6\"/>\(texts)</g></a>"
    }
}
