import Cashet
import Foundation

/// Escaping and the page frame. Every string from the store (names, tags, arguments, sources,
/// error text) goes through ``escape(_:)`` on its way into a page; the pages carry no script.
enum HTML {
    /// `text` safe as element content and as a quoted attribute value.
    static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            // Control characters and the bidirectional overrides show as escapes, as the CLI shows them.
            case _ where HumanOutput.isDisplayHazard(scalar):
                result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// `value` percent-encoded for a query string.
    static func query(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ""
    }

    /// A whole page: the navigation, then `body` (already escaped HTML).
    static func page(title: String, _ body: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title)) · cashet</title><link rel="stylesheet" href="/static/style.css"></head>
        <body><header><nav><a class="brand" href="/">cashet</a><a href="/">Commits</a><a href="/stats">Stats</a><a href="/diff">Diff</a>
        <form class="search" action="/" method="get"><input name="q" placeholder="commit or result hash prefix" aria-label="hash prefix"><button>Find</button></form></nav></header>
        <main>\(body)</main></body></html>
        """
    }

    /// A short hash, linked to its commit page.
    static func commitLink(_ hash: ContentHash) -> String {
        "<a class=\"hash\" href=\"/commits/\(hash.hex)\">\(hash.shortHex)</a>"
    }

    static func date(_ date: Date) -> String {
        "<time datetime=\"\(HumanOutput.isoString(date))\" title=\"\(HumanOutput.isoString(date))\">\(escape(HumanOutput.relative(date)))</time>"
    }

    /// `key=value` tags, each a link to the list filtered by it.
    static func tags(_ tags: [String: String]) -> String {
        tags.sorted { $0.key < $1.key }.map { key, value in
            "<a class=\"tag\" href=\"/?tag=\(query(key + "=" + value))\">\(escape(key))=\(escape(value))</a>"
        }.joined(separator: " ")
    }

    /// A result's bytes as one line a person can read: cashet's binary format as JSON, text as
    /// it is (cut), nil for other bytes.
    static func preview(_ bytes: [UInt8], limit: Int = 400) -> String? {
        if let json = BinaryJSON.preview(bytes, limit: limit) { return json }
        guard let text = String(validating: bytes.prefix(limit * 4), as: UTF8.self) ?? String(validating: bytes.prefix(limit * 4 - 1), as: UTF8.self) ?? String(validating: bytes.prefix(limit * 4 - 2), as: UTF8.self),
              !text.unicodeScalars.contains(where: { $0.value < 0x20 && !["\n", "\t", "\r"].contains($0) }) else { return nil }
        return HumanOutput.truncated(text, to: limit)
    }
}
