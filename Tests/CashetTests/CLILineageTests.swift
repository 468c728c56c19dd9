import Cashet
import CashetTestSupport
import Foundation
import Testing

@Suite("cashet history, rm and log filters as subprocesses")
struct CLILineageTests {
    /// JSON objects, one per line.
    static func objects(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    @Test("history lists a call's lineage oldest first, each commit the parent of the next")
    func history() async throws {
        let fixture = try Fixture()
        let step = CachedFunction("step", version: "1") { (x: Int) in x + 1 }
        var commits: [String] = []
        for _ in 0..<3 { commits.append(try await fixture.client.submit(step, 1, cache: false).commit.hex) }
        _ = try await fixture.client.submit(step, 2)   // another call: not in the lineage
        let result = try Products.cashet("history", String(commits[1].prefix(8)), "--json", "--store", fixture.storePath)
        #expect(result.status == 0, "\(result.stderr)")
        let lineage = try Self.objects(result.stdout)
        #expect(lineage.map { $0["hash"] as? String } == commits)
        #expect(lineage.map { $0["parent"] as? String } == [nil, commits[0], commits[1]])
        let text = try Products.cashet("history", commits[0], "--store", fixture.storePath)
        #expect(text.stdout.split(separator: "\n").count == 3 && text.stdout.contains("parent \(commits[1].prefix(12))"))
    }

    @Test("rm removes every named commit and says so; one unknown prefix removes nothing")
    func rm() async throws {
        let fixture = try Fixture()
        let id = CachedFunction("id", version: "1") { (x: Int) in x }
        var commits: [String] = []
        for x in 0..<3 { commits.append(try await fixture.client.submit(id, x).commit.hex) }
        let typo = try Products.cashet("rm", commits[0], "ffff0000", "--store", fixture.storePath)
        #expect(typo.status == 1 && typo.stderr.contains("ffff0000"), "\(typo.stderr)")
        #expect(try await fixture.client.stats().commits == 3)

        // A dry run names the commits and what would go, as JSON too, and changes nothing.
        let dry = try Products.cashet("rm", "--dry-run", "--json", String(commits[0].prefix(10)), commits[1], "--store", fixture.storePath)
        #expect(dry.status == 0, "\(dry.stderr)")
        let plan = try #require(try JSONSerialization.jsonObject(with: Data(dry.stdout.utf8)) as? [String: Any])
        #expect(plan["dry_run"] as? Bool == true && plan["commits"] as? [String] == [commits[0], commits[1]])
        #expect(plan["commits_removed"] as? Int == 2 && plan["blobs_removed"] as? Int == 2, "\(plan)")
        #expect(try await fixture.client.stats().commits == 3)
        let dryText = try Products.cashet("rm", "--dry-run", commits[2], "--store", fixture.storePath)
        #expect(dryText.stdout.hasPrefix("would remove 1 commit(s) (\(commits[2].prefix(12))) and 1 blob(s)"), "\(dryText.stdout)")

        let removed = try Products.cashet("rm", "--json", String(commits[0].prefix(10)), commits[1], "--store", fixture.storePath)
        #expect(removed.status == 0, "\(removed.stderr)")
        let done = try #require(try JSONSerialization.jsonObject(with: Data(removed.stdout.utf8)) as? [String: Any])
        for key in ["commits_removed", "blobs_removed", "bytes_freed", "stored_bytes_freed"] {
            #expect(done[key] as? Int == plan[key] as? Int, "\(key): the dry run said \(plan[key] ?? "nothing"), the removal \(done[key] ?? "nothing")")
        }
        #expect(done["dry_run"] as? Bool == false)
        #expect(try await fixture.client.log().map(\.hash.hex) == [commits[2]])
        #expect(try Products.cashet("show", commits[0], "--store", fixture.storePath).status == 1)
    }

    @Test("log -n, --func and --tag select commits; JSON lines parse; an unknown function matches nothing (exit 1)")
    func logFilters() async throws {
        let fixture = try Fixture()
        let a = CachedFunction("alpha", version: "1") { (x: Int) in x }
        let b = CachedFunction("beta", version: "1") { (x: Int) in x }
        for x in 0..<4 {
            _ = try await fixture.client.submit(a, x, tags: ["parity": x % 2 == 0 ? "even" : "odd"])
            _ = try await fixture.client.submit(b, x)
        }
        func log(_ arguments: String...) throws -> [[String: Any]] {
            let result = try Products.run(Products.cli, ["log", "--json", "--store", fixture.storePath] + arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            return try Self.objects(result.stdout)
        }
        #expect(try log().count == 8)
        #expect(try log("-n", "3").count == 3 && log("--max-count", "2").count == 2)
        #expect(try log("--func", "alpha").allSatisfy { $0["function"] as? String == "alpha" })
        let even = try log("--tag", "parity=even")
        #expect(even.count == 2 && even.allSatisfy { ($0["tags"] as? [String: String])?["parity"] == "even" })
        #expect(try log("--func", "alpha", "--tag", "parity=odd", "-n", "1").count == 1)
        let none = try Products.cashet("log", "--func", "gamma", "--store", fixture.storePath)
        #expect(none.status == 1 && none.stdout.isEmpty && none.stderr.contains("no commits match"))
        let zero = try Products.cashet("log", "-n", "0", "--store", fixture.storePath)
        #expect(zero.status == 0 && zero.stdout.isEmpty)
    }
}
