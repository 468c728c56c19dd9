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

    static func padded(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
