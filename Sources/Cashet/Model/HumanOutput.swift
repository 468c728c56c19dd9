import Foundation

/// Sizes, ages and JSON lines as the CLI prints them for people (the inverse of ``HumanInput``).
package enum HumanOutput {
    /// 1536 → "1.5 KiB"; 1,048,575 → "1.0 MiB" (a value that rounds to 1024.0 moves up a unit).
    package static func size(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while unit < units.count - 1, unit == 0 ? value >= 1024 : (value * 10).rounded() / 10 >= 1024 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }

    /// "3 min ago", "1 day ago", "2 days ago".
    package static func relative(_ date: Date, now: Date = Date()) -> String {
        let seconds = max(0, Int(now.timeIntervalSince(date)))
        switch seconds {
        case ..<60: return "\(seconds) s ago"
        case ..<3600: return "\(seconds / 60) min ago"
        case ..<86_400: return "\(seconds / 3600) h ago"
        default: return seconds / 86_400 == 1 ? "1 day ago" : "\(seconds / 86_400) days ago"
        }
    }

    /// Whether a character of stored text must not reach a terminal or a page as itself: C0
    /// controls other than tab and newline, DEL, C1 controls, and the Unicode bidirectional
    /// overrides and isolates (which would reorder what is shown around them).
    package static func isDisplayHazard(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A: false
        case 0x00..<0x20, 0x7F..<0xA0, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    /// A date as ISO 8601 with fractional seconds, in UTC: `2026-11-25T14:00:00.123Z`.
    package static func isoString(_ date: Date) -> String {
        Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(date)
    }

    /// The UTC day of a date: `2026-11-25`.
    package static func isoDay(_ date: Date) -> String { String(isoString(date).prefix(10)) }

    /// `text` cut to at most `limit` characters, the last one `…` when it was cut.
    package static func truncated(_ text: String, to limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }

    /// One JSON value on one line: object keys in snake case (`functionHash` → `function_hash`)
    /// and sorted. A value JSON cannot hold (NaN, an infinity) is an error naming it, never a
    /// silent `{}`.
    package static func jsonLine<Value: Encodable>(_ value: Value) throws(CashetError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw CashetError(.serialization, "cannot print this output as JSON: it holds a value JSON cannot (NaN or an infinity)", underlying: error)
        }
    }
}
