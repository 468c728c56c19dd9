import Cashet
import Foundation

/// Rendering shared by the subcommands: JSON objects, sizes, times.
enum Output {
    static func isoString(_ date: Date) -> String {
        Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(date)
    }

    static func iso(_ date: Date?) -> Any { date.map(isoString) ?? NSNull() }

    /// One JSON object on one line, keys sorted.
    static func json(_ object: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// A result reference as JSON: `{hash, size}`, or null for a failed commit.
    static func outputObject(_ output: ObjectRef?) -> Any {
        output.map { ["hash": $0.hash.hex, "size": $0.size] as [String: Any] } ?? NSNull()
    }

    static func commitObject(_ commit: Commit, withSource: Bool) -> [String: Any] {
        var object: [String: Any] = [
            "hash": commit.hash.hex,
            "function": commit.task.functionName,
            "function_hash": commit.fingerprint.functionHash.hex,
            "fingerprint": commit.fingerprint.description,
            "status": commit.status.rawValue,
            "created_at": iso(commit.createdAt),
            "args": commit.task.argumentsSnapshot,
            "tags": commit.tags,
            "parent": commit.parent?.hex ?? NSNull(),
            "error": commit.error ?? NSNull(),
            "cached": commit.task.cacheable,
            "output": outputObject(commit.output),
        ]
        if withSource {
            object["source"] = commit.task.source ?? NSNull()
            object["version"] = commit.task.functionVersion
        }
        return object
    }

    /// One line per commit: a JSON object (`--json`), or the command's human rendering.
    static func printCommits(_ commits: [Commit], json: Bool, human: (Commit) -> String) {
        for commit in commits {
            print(json ? Output.json(commitObject(commit, withSource: false)) : human(commit))
        }
    }

    /// 1536 → "1.5 KiB".
    static func size(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }

    /// "3 min ago", "2 days ago".
    static func relative(_ date: Date, now: Date = Date()) -> String {
        let seconds = max(0, Int(now.timeIntervalSince(date)))
        switch seconds {
        case ..<60: return "\(seconds) s ago"
        case ..<3600: return "\(seconds / 60) min ago"
        case ..<86_400: return "\(seconds / 3600) h ago"
        default: return "\(seconds / 86_400) days ago"
        }
    }

    /// A time given on the command line: an ISO 8601 date (`2026-11-25`, taken as UTC midnight)
    /// or date-time, or an age before `now` (`90s`, `30m`, `12h`, `7d`, `2w`).
    static func parseDate(_ text: String, option: String, now: Date = Date()) throws(CashetError) -> Date {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800]
        if let unit = text.last, let seconds = units[unit], let amount = Double(text.dropLast()), amount >= 0, amount.isFinite {
            return now.addingTimeInterval(-amount * seconds)
        }
        let formats: [Date.ISO8601FormatStyle] = [
            .iso8601,
            Date.ISO8601FormatStyle(includingFractionalSeconds: true),
            Date.ISO8601FormatStyle().year().month().day(),
        ]
        for format in formats {
            if let date = try? format.parse(text) { return date }
        }
        throw CashetError(.invalidArgument, "\(option) '\(text)' is not a date: use 2026-11-25, 2026-11-25T14:00:00Z, or an age such as 12h or 7d")
    }

    /// A size given on the command line: bytes, or a number with a unit. `K`, `M`, `G`, `T` and
    /// `KiB`… are powers of 1024; `KB`, `MB`, `GB`, `TB` powers of 1000; `B` is bytes.
    static func parseSize(_ text: String, option: String) throws(CashetError) -> Int {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let digits = trimmed.prefix { $0.isNumber || $0 == "." }
        let unit = trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).uppercased()
        let powers: [String: Double] = [
            "": 1, "B": 1,
            "K": 0x1p10, "KIB": 0x1p10, "M": 0x1p20, "MIB": 0x1p20, "G": 0x1p30, "GIB": 0x1p30, "T": 0x1p40, "TIB": 0x1p40,
            "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
        ]
        guard let amount = Double(digits), let scale = powers[unit], case let bytes = (amount * scale).rounded(), bytes < 0x1p62 else {
            throw CashetError(.invalidArgument, "\(option) '\(text)' is not a size: use bytes or a number with a unit, such as 500M, 2GiB or 10GB")
        }
        return Int(bytes)
    }

    /// Whether bytes would garble a terminal: control characters other than tab, newline,
    /// carriage return and form feed, or invalid UTF-8, in the first 8 KiB (a character cut by
    /// the end of that window is allowed).
    static func looksBinary(_ bytes: [UInt8]) -> Bool {
        let window = bytes.prefix(8192)
        if window.contains(where: { ($0 < 0x20 && ![0x09, 0x0A, 0x0C, 0x0D].contains($0)) || $0 == 0x7F }) { return true }
        let cut = bytes.count > window.count ? 3 : 0
        return (0...cut).allSatisfy { String(validating: window.dropLast($0), as: UTF8.self) == nil }
    }

    /// Terminal colours for human output.
    enum Colour: String {
        case none = "", red = "31", yellow = "33", green = "32"
    }

    /// Colour only when standard output is a terminal, `NO_COLOR` is unset or empty
    /// (https://no-color.org) and `TERM` is not `dumb`.
    static let colourEnabled: Bool = {
        let environment = ProcessInfo.processInfo.environment
        return isatty(STDOUT_FILENO) == 1 && (environment["NO_COLOR"] ?? "").isEmpty && environment["TERM"] != "dumb"
    }()

    /// `text` in `colour` when colour is enabled.
    static func paint(_ text: String, _ colour: Colour) -> String {
        guard colourEnabled, colour != .none else { return text }
        return "\u{1B}[\(colour.rawValue)m\(text)\u{1B}[0m"
    }

    static func padded(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
