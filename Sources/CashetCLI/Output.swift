import ArgumentParser
import Cashet
import Foundation
import Synchronization

/// Rendering shared by the subcommands: JSON objects, sizes, times.
enum Output {
    /// See ``HumanOutput/isoString(_:)``.
    static func isoString(_ date: Date) -> String { HumanOutput.isoString(date) }

    /// One JSON object on one line (``HumanOutput/jsonLine(_:)``): see Cashet's JSONViews.swift.
    static func json<Value: Encodable>(_ value: Value) throws(CashetError) -> String { try HumanOutput.jsonLine(value) }

    /// One line per commit: a JSON object (`--json`), or the command's human rendering.
    static func printCommits(_ commits: [Commit], json: Bool, human: (Commit) -> String) throws(CashetError) {
        for commit in commits {
            print(json ? try Output.json(CommitJSON(commit)) : human(commit))
        }
    }

    /// Results up to this size get a preview in `show`.
    static let previewLimit = 65_536

    /// One line of a result for `show`: the binary format as JSON, text as it is (cut at 80
    /// characters, escaped for the terminal); nil for other bytes.
    static func preview(_ bytes: [UInt8]) -> String? {
        if let json = BinaryJSON.preview(bytes) { return clean(json) }
        guard !looksBinary(bytes) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\n", with: " ")
        return clean(HumanOutput.truncated(text, to: 80))
    }

    /// See ``HumanOutput/size(_:)``.
    static func size(_ bytes: Int) -> String { HumanOutput.size(bytes) }

    /// See ``HumanOutput/relative(_:now:)``.
    static func relative(_ date: Date, now: Date = Date()) -> String { HumanOutput.relative(date, now: now) }

    /// Whether bytes would garble a terminal: control characters other than tab, newline,
    /// carriage return and form feed, or invalid UTF-8, in the first 8 KiB (a character cut by
    /// the end of that window is allowed).
    static func looksBinary(_ bytes: [UInt8]) -> Bool {
        let window = bytes.prefix(8192)
        if window.contains(where: { ($0 < 0x20 && ![0x09, 0x0A, 0x0C, 0x0D].contains($0)) || $0 == 0x7F }) { return true }
        let cut = bytes.count > window.count ? 3 : 0
        return (0...cut).allSatisfy { String(validating: window.dropLast($0), as: UTF8.self) == nil }
    }

    /// `text` safe to show on a terminal: control characters (C0 but tab, DEL, C1) and the Unicode
    /// bidirectional overrides become visible escapes (`\x1B`, `\u{202E}`), so a stored name,
    /// tag, error or source cannot clear the screen, set the title or reorder what is shown. A
    /// newline stays one only where `multiline` (source text); elsewhere it shows as `\n`.
    static func clean(_ text: String, multiline: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: { needsEscape($0, multiline: multiline) }) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar, multiline: multiline) else {
                result.unicodeScalars.append(scalar)
                continue
            }
            switch scalar.value {
            case 0x0A: result += "\\n"
            case 0x0D: result += "\\r"
            case ..<0x100: result += "\\x" + String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 2)
            default: result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            }
        }
        return result
    }

    private static func needsEscape(_ scalar: Unicode.Scalar, multiline: Bool) -> Bool {
        scalar == "\n" ? !multiline : HumanOutput.isDisplayHazard(scalar)
    }

    /// Terminal colours for human output.
    enum Colour: String {
        case none = "", red = "31", yellow = "33", green = "32"
    }

    /// What `--color` chose; `.auto` until a command sets it.
    private static let colourMode = Mutex(ColourMode.auto)

    /// Sets `--color` for this run.
    static func useColour(_ mode: ColourMode) { colourMode.withLock { $0 = mode } }

    /// `--color always` or `never` decides. Otherwise (`auto`) a non-empty `NO_COLOR`
    /// (https://no-color.org) turns colour off, a non-empty `FORCE_COLOR` (https://force-color.org)
    /// on, and without either, colour goes to a terminal whose `TERM` is not `dumb`.
    static var colourEnabled: Bool {
        switch colourMode.withLock({ $0 }) {
        case .always: true
        case .never: false
        case .auto: automaticColour
        }
    }

    private static let automaticColour: Bool = {
        let environment = ProcessInfo.processInfo.environment
        if !(environment["NO_COLOR"] ?? "").isEmpty { return false }
        if !(environment["FORCE_COLOR"] ?? "").isEmpty { return true }
        return isatty(STDOUT_FILENO) == 1 && environment["TERM"] != "dumb"
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

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

/// `--color`: `auto` (the default), `always` or `never`.
enum ColourMode: String, CaseIterable, ExpressibleByArgument {
    case auto, always, never
}
