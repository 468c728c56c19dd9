import Cashet
import Foundation

/// Charts drawn as SVG on the server: the stats page's growth curve and bars. Labels go
/// through ``HTML/escape(_:)``; numbers are formatted here.
enum SVGCharts {
    /// A step line of `values` (one per point, in order), with `labels` under the first and last
    /// point and the largest value on the y axis.
    static func line(_ values: [Double], firstLabel: String, lastLabel: String, format: (Double) -> String, title: String) -> String {
        let (width, height, left, bottom, top, right) = (720.0, 220.0, 70.0, 26.0, 12.0, 12.0)
        guard let maximum = values.max(), !values.isEmpty else { return "<p class=\"muted\">Nothing yet.</p>" }
        let top_ = max(maximum, 1)
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let step = values.count > 1 ? plotWidth / Double(values.count - 1) : 0
        var points: [String] = []
        for (index, value) in values.enumerated() {
            let x = left + Double(index) * step
            let y = top + plotHeight * (1 - value / top_)
            points.append(String(format: "%.1f,%.1f", x, y))
        }
        let area = "\(String(format: "%.1f", left)),\(String(format: "%.1f", top + plotHeight)) " + points.joined(separator: " ")
            + " \(String(format: "%.1f", left + Double(values.count - 1) * step)),\(String(format: "%.1f", top + plotHeight))"
        var grid = ""
        for fraction in [0.25, 0.5, 0.75, 1.0] {
            let y = top + plotHeight * (1 - fraction)
            grid += "<line class=\"grid\" x1=\"\(left)\" y1=\"\(y)\" x2=\"\(width - right)\" y2=\"\(y)\"/>"
            grid += "<text x=\"\(left - 6)\" y=\"\(y + 4)\" text-anchor=\"end\">\(HTML.escape(format(top_ * fraction)))</text>"
        }
        return """
        <svg viewBox="0 0 \(Int(width)) \(Int(height))" width="\(Int(width))" height="\(Int(height))" role="img" aria-label="\(HTML.escape(title))">
        <title>\(HTML.escape(title))</title>\(grid)
        <polygon points="\(area)" fill="#ddf4ff"/><polyline points="\(points.joined(separator: " "))" fill="none" stroke="#1f6feb" stroke-width="2"/>
        <line class="axis" x1="\(left)" y1="\(top + plotHeight)" x2="\(width - right)" y2="\(top + plotHeight)"/>
        <text x="\(left)" y="\(height - 8)">\(HTML.escape(firstLabel))</text><text x="\(width - right)" y="\(height - 8)" text-anchor="end">\(HTML.escape(lastLabel))</text>
        </svg>
        """
    }

    /// Horizontal bars, one per item, the longest scaled to the full width.
    static func bars(_ items: [(label: String, value: Double)], format: (Double) -> String, title: String) -> String {
        guard let maximum = items.map(\.value).max(), maximum > 0 else { return "<p class=\"muted\">Nothing yet.</p>" }
        let (width, row, labelWidth, valueWidth) = (720.0, 22.0, 220.0, 90.0)
        let height = Double(items.count) * row + 6
        var rows = ""
        for (index, item) in items.enumerated() {
            let y = Double(index) * row + 4
            let barWidth = max(1, (width - labelWidth - valueWidth) * item.value / maximum)
            let label = HumanOutput.truncated(item.label, to: 32)
            rows += """
            <text x="\(labelWidth - 8)" y="\(y + 14)" text-anchor="end">\(HTML.escape(label))</text>\
            <rect x="\(labelWidth)" y="\(y + 3)" width="\(String(format: "%.1f", barWidth))" height="\(row - 8)" fill="#54aeff"/>\
            <text x="\(String(format: "%.1f", labelWidth + barWidth + 6))" y="\(y + 14)">\(HTML.escape(format(item.value)))</text>
            """
        }
        return """
        <svg viewBox="0 0 \(Int(width)) \(Int(height))" width="\(Int(width))" height="\(Int(height))" role="img" aria-label="\(HTML.escape(title))">
        <title>\(HTML.escape(title))</title>\(rows)</svg>
        """
    }
}
