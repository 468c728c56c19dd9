/// The line format the build-tool plugin caches file summaries in: one line per declaration
/// or mutable global, tab-separated fields, `\`, tab and newline escaped. A line that does not
/// parse makes the whole entry unreadable, and the file is parsed again.
public enum SummaryText {
    /// The lines of a summary.
    public static func encode(_ summary: FileSummary) -> [String] {
        var lines: [String] = []
        for d in summary.declarations {
            var fields = ["d", d.module, d.kind.rawValue, d.name, d.signature, d.enclosingType ?? "", d.enclosingType == nil ? "0" : "1",
                          d.ownHash, String(d.line), d.file, d.references.sorted().joined(separator: " "),
                          d.unshadowedReferences.sorted().joined(separator: " ")]
            if let cached = d.cached {
                fields += ["c", cached.allowsMutableState ? "1" : "0", String(cached.ignoredDependencies.count)] + cached.ignoredDependencies
                fields += [String(cached.problems.count)] + cached.problems
            }
            lines.append(fields.map(escape).joined(separator: "\t"))
        }
        for g in summary.mutableGlobals {
            lines.append(["g", g.qualifiedName, g.name, String(g.line), g.file].map(escape).joined(separator: "\t"))
        }
        return lines
    }

    /// The summary the lines describe, or nil if any line is malformed.
    public static func decode<Lines: Sequence>(_ lines: Lines) -> FileSummary? where Lines.Element: StringProtocol {
        var summary = FileSummary()
        for line in lines {
            let fields = Self.fields(line)
            switch fields.first {
            case "d":
                guard fields.count >= 12, let kind = DeclarationKind(rawValue: fields[2]), let number = Int(fields[8]) else { return nil }
                var cached: CachedAttribute?
                if fields.count > 12 {
                    var rest = fields[12...].makeIterator()
                    guard rest.next() == "c", let allows = rest.next(), let ignoredCount = rest.next().flatMap({ Int($0) }), ignoredCount <= fields.count else { return nil }
                    var ignored: [String] = []
                    for _ in 0..<ignoredCount { guard let name = rest.next() else { return nil }; ignored.append(name) }
                    guard let problemCount = rest.next().flatMap({ Int($0) }), problemCount <= fields.count else { return nil }
                    var problems: [String] = []
                    for _ in 0..<problemCount { guard let problem = rest.next() else { return nil }; problems.append(problem) }
                    guard rest.next() == nil else { return nil }
                    cached = CachedAttribute(allowsMutableState: allows == "1", ignoredDependencies: ignored, problems: problems)
                }
                summary.declarations.append(Declaration(
                    module: fields[1], kind: kind, name: fields[3], signature: fields[4], enclosingType: fields[6] == "1" ? fields[5] : nil,
                    ownHash: fields[7], references: names(fields[10]), unshadowedReferences: names(fields[11]),
                    file: fields[9], line: number, cached: cached))
            case "g":
                guard fields.count == 5, let number = Int(fields[3]) else { return nil }
                summary.mutableGlobals.append(MutableGlobal(qualifiedName: fields[1], name: fields[2], line: number, file: fields[4]))
            default:
                return nil
            }
        }
        return summary
    }

    private static func names(_ field: String) -> Set<String> {
        Set(field.utf8.split(separator: 0x20).map { String(decoding: $0, as: UTF8.self) })
    }

    /// The tab-separated fields of a line, unescaped. Split by byte: the plugin's tool runs
    /// unoptimized, where splitting by `Character` costs most of a warm run.
    public static func fields<Line: StringProtocol>(_ line: Line) -> [String] {
        line.utf8.split(separator: 0x09, omittingEmptySubsequences: false).map { unescape(String(decoding: $0, as: UTF8.self)) }
    }

    /// `\` → `\\`, tab → `\t`, newline → `\n`, carriage return → `\r` (by scalar: `"\r\n"` is one
    /// `Character`).
    public static func escape(_ field: String) -> String {
        guard field.unicodeScalars.contains(where: { $0 == "\\" || $0 == "\t" || $0 == "\n" || $0 == "\r" }) else { return field }
        var out = String.UnicodeScalarView()
        for scalar in field.unicodeScalars {
            switch scalar {
            case "\\": out.append(contentsOf: "\\\\".unicodeScalars)
            case "\t": out.append(contentsOf: "\\t".unicodeScalars)
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            case "\r": out.append(contentsOf: "\\r".unicodeScalars)
            default: out.append(scalar)
            }
        }
        return String(out)
    }

    /// The inverse of ``escape(_:)``.
    public static func unescape(_ field: String) -> String {
        guard field.utf8.contains(0x5C) else { return field }
        var out = String.UnicodeScalarView()
        var escaping = false
        for scalar in field.unicodeScalars {
            if escaping {
                switch scalar {
                case "t": out.append("\t")
                case "n": out.append("\n")
                case "r": out.append("\r")
                default: out.append(scalar)
                }
                escaping = false
            } else if scalar == "\\" {
                escaping = true
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }
}
