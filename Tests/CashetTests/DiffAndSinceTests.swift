@testable import Cashet
import CashetTestSupport
import Foundation
import Testing

/// Applies a unified diff to `old`, to check that it really turns `old` into `new`.
private func apply(_ diff: [String], to old: String) -> String {
    var lines = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    var offset = 0
    var position = 0
    for line in diff.dropFirst(2) {
        if line.hasPrefix("@@") {
            let oldStart = Int(line.split(separator: " ")[1].dropFirst().split(separator: ",")[0])!
            let oldCount = Int(line.split(separator: " ")[1].split(separator: ",")[1])!
            position = (oldCount == 0 ? oldStart : oldStart - 1) + offset
        } else if line.hasPrefix("-") {
            lines.remove(at: position)
            offset -= 1
        } else if line.hasPrefix("+") {
            lines.insert(String(line.dropFirst()), at: position)
            position += 1
            offset += 1
        } else {
            position += 1
        }
    }
    return lines.joined(separator: "\n")
}

@Suite("diff and log --since")
struct DiffAndSinceTests {
    static let sources = [
        "func f(x: Int) -> Int {\n    let y = x * 2\n    return y + 1\n}",
        "func f(x: Int) -> Int {\n    let y = x * 3\n    return y + 1\n}",
        (1...40).map { "    line \($0)" }.joined(separator: "\n"),
        (1...40).map { $0 == 5 || $0 == 30 ? "    changed \($0)" : "    line \($0)" }.joined(separator: "\n") + "\n    appended",
        "",
        "only line",
    ]

    @Test("the unified diff turns the old source into the new one, with diff -u's hunk headers")
    func unifiedDiff() throws {
        for old in Self.sources {
            for new in Self.sources {
                let diff = UnifiedDiff.lines(from: old, to: new)
                #expect(diff.isEmpty == (old == new))
                if old != new { #expect(apply(diff, to: old) == new, "\(old.prefix(20)) → \(new.prefix(20))") }
            }
        }
        // Same headers and lines as GNU diff -u on an unambiguous change.
        let directory = TemporaryDirectory()
        let (a, b) = (Self.sources[2], Self.sources[3])
        try (a + "\n").write(toFile: directory.child("a"), atomically: true, encoding: .utf8)
        try (b + "\n").write(toFile: directory.child("b"), atomically: true, encoding: .utf8)
        let gnu = try Products.run("/usr/bin/diff", ["-u", directory.child("a"), directory.child("b")])
        let expected = gnu.stdout.split(separator: "\n").dropFirst(2).map(String.init)
        #expect(Array(UnifiedDiff.lines(from: a, to: b).dropFirst(2)) == expected)
    }

    @Test("two long sources that differ in one line give one short hunk, not the whole text replaced")
    func longSourcesDiffByTheirChange() {
        let old = (1...3_000).map { "    line \($0)" }.joined(separator: "\n")
        let new = old.replacingOccurrences(of: "    line 1500\n", with: "    changed 1500\n")
        let diff = UnifiedDiff.lines(from: old, to: new)
        #expect(diff.count == 2 + 1 + 3 + 2 + 3, "\(diff.count) lines")
        #expect(diff[2] == "@@ -1497,7 +1497,7 @@" && diff.contains("-    line 1500") && diff.contains("+    changed 1500"))
        #expect(apply(diff, to: old) == new)
    }

    @Test("cashet diff shows the source diff, arguments, output and status, in text and JSON")
    func diffCommand() async throws {
        let fixture = try Fixture()
        func version(_ source: String) -> CachedFunction<Int, Int> {
            let identity = FunctionIdentity(name: "f", sourceHash: SHA256Hasher.hash(Array(source.utf8)).hex, helpersHash: "", version: "", source: source)
            return CachedFunction(identity: identity) { x in x * (source.contains("* 3") ? 3 : 2) + 1 }
        }
        let a = try await fixture.client.submit(version(Self.sources[0]), 5)
        let b = try await fixture.client.submit(version(Self.sources[1]), 6)
        let same = try await fixture.client.submit(version(Self.sources[0]), 5, cache: false)

        let text = try Products.cashet("diff", a.commit.hex.prefix(6).description, b.commit.hex.prefix(6).description, "--store", fixture.storePath)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("-    let y = x * 2") && text.stdout.contains("+    let y = x * 3"), "\(text.stdout)")
        #expect(text.stdout.contains("args        changed:") && text.stdout.contains("output      different"))

        let json = try Products.cashet("diff", a.commit.hex, b.commit.hex, "--json", "--store", fixture.storePath)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["function_changed"] as? Bool == true && object["args_changed"] as? Bool == true)
        #expect((object["source_diff"] as? [String])?.contains("+    let y = x * 3") == true)
        #expect((object["args"] as? [String: String])?["b"] == "(6)")

        let unchanged = try Products.cashet("diff", a.commit.hex, same.commit.hex, "--store", fixture.storePath)
        #expect(unchanged.stdout.contains("same function, arguments, output and status"), "\(unchanged.stdout)")
        let missing = try Products.cashet("diff", a.commit.hex, "ffff0000", "--store", fixture.storePath)
        #expect(missing.status == 1 && missing.stderr.contains("ffff0000"))
    }

    @Test("cashet show lists what went into an identity; cashet diff says which helper or package changed")
    func identityExplained() async throws {
        let fixture = try Fixture()
        let source = "func shaped(_ x: Int) -> Int { normalize(x) }"
        func helper(_ signature: String, _ file: String, _ line: Int, _ hash: String, kind: String = "func") -> IdentityManifest.Helper {
            IdentityManifest.Helper(module: "Core", kind: kind, signature: signature, file: file, line: line, hash: String(repeating: hash, count: 64))
        }
        func function(_ helpers: [IdentityManifest.Helper], numerics: String, manifestHash: String) -> CachedFunction<Int, Int> {
            let manifest = IdentityManifest(hash: manifestHash, helpers: helpers,
                                            dependencies: [IdentityManifest.Dependency(package: "swift-numerics", version: numerics, revision: "r" + numerics)])
            return CachedFunction(identity: FunctionIdentity(name: "shaped", sourceHash: "5f1e", manifest: manifest, version: "", source: source)) { x in x }
        }
        let old = function([helper("normalize(_:)", "Core/Text.swift", 12, "a"), helper("Shape", "Core/Shape.swift", 3, "b", kind: "type"), helper("gone()", "Core/Old.swift", 1, "c")],
                           numerics: "1.0.2", manifestHash: "1")
        let new = function([helper("normalize(_:)", "Core/Text.swift", 14, "d"), helper("Shape", "Core/Shape.swift", 3, "b", kind: "type"), helper("added()", "Core/New.swift", 5, "e")],
                           numerics: "1.0.3", manifestHash: "2")
        let a = try await fixture.client.submit(old, 1)
        let b = try await fixture.client.submit(new, 1)

        let show = try Products.cashet("show", a.commit.hex, "--store", fixture.storePath)
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.contains("reaches     func normalize(_:)  Core/Text.swift:12\n            type Shape  Core/Shape.swift:3"), "\(show.stdout)")
        #expect(show.stdout.contains("packages    swift-numerics 1.0.2 (r1.0.2)"), "\(show.stdout)")
        let shown = try #require(try JSONSerialization.jsonObject(with: Data(try Products.cashet("show", "--json", b.commit.hex, "--store", fixture.storePath).stdout.utf8)) as? [String: Any])
        let identity = try #require(shown["identity"] as? [String: Any])
        #expect((identity["helpers"] as? [[String: Any]])?.first?["signature"] as? String == "normalize(_:)")
        #expect((identity["helpers"] as? [[String: Any]])?.first?["line"] as? Int == 14)
        #expect((identity["dependencies"] as? [[String: Any]])?.first?["version"] as? String == "1.0.3")

        let diff = try Products.cashet("diff", a.commit.hex, b.commit.hex, "--store", fixture.storePath)
        #expect(diff.status == 0, "\(diff.stderr)")
        for sentence in ["helper `normalize(_:)` in Core/Text.swift changed", "helper `added()` in Core/New.swift is now reached",
                         "helper `gone()` in Core/Old.swift is no longer reached", "package swift-numerics 1.0.2 (r1.0.2) → 1.0.3 (r1.0.3)"] {
            #expect(diff.stdout.contains(sentence), "\(sentence) in \(diff.stdout)")
        }
        #expect(!diff.stdout.contains("Shape"), "an unchanged helper is not listed: \(diff.stdout)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(try Products.cashet("diff", "--json", a.commit.hex, b.commit.hex, "--store", fixture.storePath).stdout.utf8)) as? [String: Any])
        let changes = try #require(json["identity_changes"] as? [[String: String]])
        #expect(changes.map { $0["kind"] ?? "" } == ["helper_added", "helper_removed", "helper_changed", "dependency_changed"])
    }

    @Test("log --since takes dates, date-times and ages, and rejects anything else by name")
    func since() async throws {
        let fixture = try Fixture()
        let id = CachedFunction("id", version: "1") { (x: Int) in x }
        for x in 0..<3 { _ = try await fixture.client.submit(id, x) }
        let total = try await fixture.client.log().count
        for (argument, expected) in [("1h", total), ("2000-01-01", total), ("2000-01-01T00:00:00Z", total), ("2999-01-01", 0), ("0s", 0)] {
            let result = try Products.cashet("log", "--since", argument, "--json", "--store", fixture.storePath)
            // Nothing matched is exit 1, with the reason on stderr.
            #expect(result.status == (expected == 0 ? 1 : 0), "\(argument): \(result.stderr)")
            #expect(result.stdout.split(separator: "\n").count == expected, "\(argument)")
            if expected == 0 { #expect(result.stderr.contains("no commits match")) }
        }
        for text in ["yesterday-ish", "1e300w", "nand", "-3d"] {
            let bad = try Products.cashet("log", "--since=\(text)", "--store", fixture.storePath)
            #expect(bad.status == 2 && bad.stderr.contains("--since '\(text)' is not a date"), "\(bad.stderr)")
        }
    }
}

@Suite("What the CLI prints for sizes, ages and JSON")
struct HumanOutputTests {
    @Test("a size just under a unit is shown in the next one, and one day is singular")
    func sizesAndAges() {
        #expect(HumanOutput.size(1_048_575) == "1.0 MiB")
        #expect(HumanOutput.size(1_023) == "1023 B" && HumanOutput.size(1_536) == "1.5 KiB" && HumanOutput.size(1_048_576) == "1.0 MiB")
        let now = Date()
        #expect(HumanOutput.relative(now.addingTimeInterval(-86_400), now: now) == "1 day ago")
        #expect(HumanOutput.relative(now.addingTimeInterval(-3 * 86_400), now: now) == "3 days ago")
    }

    @Test("JSON output that cannot be written is an error naming why, never a silent {}")
    func unwritableJSON() throws {
        struct Line: Encodable { let b: Int; let sizeLimit: String; let rate: Double }
        #expect(try HumanOutput.jsonLine(Line(b: 1, sizeLimit: "x", rate: 0.5)) == #"{"b":1,"rate":0.5,"size_limit":"x"}"#)
        #expect(throws: CashetError.self) { try HumanOutput.jsonLine(Line(b: 1, sizeLimit: "x", rate: .nan)) }
    }
}
