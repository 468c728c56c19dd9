import Foundation

/// Parsers for sizes and times written by people (the CLI's `--max-size`, `--since`; an app's
/// configuration file), with errors that name where the text came from.
public enum HumanInput {
    /// A time as a person types it: an ISO 8601 date (`2026-11-25`, taken as UTC midnight)
    /// or date-time, or an age before `now` (`90s`, `30m`, `12h`, `7d`, `2w`; at most 1,000 years).
    /// Throws `.invalidArgument` naming `option` (the flag or setting it came from) otherwise.
    public static func date(_ text: String, option: String, now: Date = Date()) throws(CashetError) -> Date {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800]
        if let unit = text.last, let seconds = units[unit], let amount = Double(text.dropLast()), amount >= 0, amount * seconds <= 1000 * 365.25 * 86_400 {
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

    /// A size as a person types it: bytes, or a number with a unit. `K`, `M`, `G`, `T` and
    /// `KiB`… are powers of 1024; `KB`, `MB`, `GB`, `TB` powers of 1000; `B` is bytes. Throws
    /// `.invalidArgument` naming `option` otherwise.
    public static func size(_ text: String, option: String) throws(CashetError) -> Int {
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

    /// The query `log` runs for filters as a person gives them: a function name, tags as
    /// `key=value`, and a time `date(_:option:now:)` reads. Errors name the option the text came
    /// from (`--tag`, or a URL's `tag`).
    public static func commitQuery(function: String?, tags: [String], since: String?, limit: Int? = nil,
                                   tagOption: String = "--tag", sinceOption: String = "--since") throws(CashetError) -> CommitQuery {
        var tagFilter: [String: String] = [:]
        for tag in tags {
            guard let equals = tag.firstIndex(of: "="), equals != tag.startIndex else {
                throw CashetError(.invalidArgument, "\(tagOption) '\(tag)' is not key=value")
            }
            tagFilter[String(tag[..<equals])] = String(tag[tag.index(after: equals)...])
        }
        let cutoff = try since.map { text throws(CashetError) in try date(text, option: sinceOption) }
        return CommitQuery(functionName: function, tags: tagFilter, since: cutoff, limit: limit)
    }
}
