import CashetIdentity
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The summaries of the last run, one per file, trusted while the file's size and
/// modification time are unchanged: an edit to one file of a large package re-parses that
/// file only. Like git's index, a file modified in the last two seconds before the cache is
/// written is not cached (a second edit within the timestamp's granularity could otherwise go
/// unseen). Anything unreadable in the cache is dropped and re-parsed.
struct SummaryCache {
    private struct Entry {
        let size: Int64
        let modified: Int64
        /// What the lines are: a target file's summary (`target MODULE DISPLAY`) or a local
        /// package file's normalized hash (`local`).
        let key: String
        let lines: [String]
    }

    private static let header = "cashet-identity-cache 1"
    private var entries: [String: Entry] = [:]
    private var used: Set<String> = []
    private(set) var parsed = 0
    private var changed = false

    /// The cache at `path`, or an empty one.
    init(contentsOf path: String?) {
        guard let path, let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        var lines = text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).lazy.map { String(decoding: $0, as: UTF8.self) }.makeIterator()
        guard lines.next() == Self.header else { return }
        while let line = lines.next(), !line.isEmpty {
            let fields = SummaryText.fields(line)
            guard fields.count == 6, fields[0] == "F", let size = Int64(fields[2]), let modified = Int64(fields[3]),
                  let count = Int(fields[5]), count >= 0 else { entries = [:]; return }
            var body: [String] = []
            for _ in 0..<count {
                guard let next = lines.next() else { entries = [:]; return }
                body.append(next)
            }
            entries[fields[1]] = Entry(size: size, modified: modified, key: fields[4], lines: body)
        }
    }

    /// The summary of a target's file, from the cache or parsed now.
    mutating func summary(of path: String, module: String, display: String) throws -> FileSummary {
        let key = "target \(module) \(display)"
        let stamp = Self.stamp(path)
        if let lines = cachedLines(path, key: key, stamp: stamp), let summary = SummaryText.decode(lines) { return summary }
        let summary = SourceSummarizer.summarize(source: try String(contentsOfFile: path, encoding: .utf8), module: module, file: display)
        store(path, key: key, lines: SummaryText.encode(summary), stamp: stamp)
        return summary
    }

    /// The SHA-256 of a file's normalized source (comments and whitespace ignored).
    mutating func normalizedHash(of path: String) throws -> String {
        let stamp = Self.stamp(path)
        if let lines = cachedLines(path, key: "local", stamp: stamp), lines.count == 1 { return lines[0] }
        let hash = SHA256.hex(SourceNormalizer.normalize(source: try String(contentsOfFile: path, encoding: .utf8)))
        store(path, key: "local", lines: [hash], stamp: stamp)
        return hash
    }

    /// Writes the entries of the files used in this run (atomically), if any changed.
    func write(to path: String?) throws {
        guard let path, changed || used.count != entries.count else { return }
        let now = Int64(Date().timeIntervalSince1970 * 1e9)
        var text = Self.header + "\n"
        for file in used.sorted() {
            guard let entry = entries[file], entry.modified < now - 2_000_000_000 else { continue }
            text += ["F", file, String(entry.size), String(entry.modified), entry.key, String(entry.lines.count)].map(SummaryText.escape).joined(separator: "\t") + "\n"
            for line in entry.lines { text += line + "\n" }
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    private mutating func cachedLines(_ path: String, key: String, stamp: (size: Int64, modified: Int64)?) -> [String]? {
        used.insert(path)
        guard let entry = entries[path], entry.key == key, let stamp, stamp == (entry.size, entry.modified) else { return nil }
        return entry.lines
    }

    /// `stamp` was taken before the file was read: a file changed while being read is read
    /// again next time.
    private mutating func store(_ path: String, key: String, lines: [String], stamp: (size: Int64, modified: Int64)?) {
        parsed += 1
        changed = true
        guard let stamp else { entries[path] = nil; return }
        entries[path] = Entry(size: stamp.size, modified: stamp.modified, key: key, lines: lines)
    }

    /// Size and modification time (ns) of a file, nil if it cannot be read.
    private static func stamp(_ path: String) -> (size: Int64, modified: Int64)? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        #if canImport(Darwin)
        let time = status.st_mtimespec
        #else
        let time = status.st_mtim
        #endif
        return (Int64(status.st_size), Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec))
    }
}
