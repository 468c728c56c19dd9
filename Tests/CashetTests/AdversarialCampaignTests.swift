import CashetTestSupport
import Foundation
import Testing

extension HeavySuites {
@Suite("Adversarial campaigns, short forms (scripts/campaigns)", .serialized)
struct AdversarialCampaignTests {
    static func run(_ script: String) async throws -> (summary: [String: Any], seed: UInt32, result: ProcessResult) {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../scripts/campaigns/\(script).py").standardized.path
        let seed = UInt32.random(in: 1...UInt32.max)
        let result = try await Products.runOffPool("/usr/bin/python3", [path, "--bin", Products.directory.path, "--short", "--seed", "\(seed)", "--jobs", "1"])
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(script) seed \(seed): \(result.stderr.suffix(2000))")
        print("\(script) campaign, seed \(seed): cases \(summary["cases"] ?? "?"), failures \(summary["failure_count"] ?? "?")")
        return (summary, seed, result)
    }

    @Test("every store path replaced by a link to a canary, or made unreadable: the canary is untouched, nothing valid is removed, fsck names links (exit 3) and unreadable files (exit 4), repair removes only links",
          .timeLimit(.minutes(5)))
    func symlinksAndPermissions() async throws {
        let (summary, seed, result) = try await Self.run("symlinks")
        #expect(result.status == 0 && summary["failure_count"] as? Int == 0, "seed \(seed): \(String(describing: summary["defects"]))")
    }

    @Test("mutated archives (non-canonical varints with hashes recomputed, reorders, duplicates, over-long names, wrong hashes, swapped files, FIFO, device) into fresh and non-empty stores: a refusal leaves the store exactly as it was; an import equals the exporter's `show --json`",
          .timeLimit(.minutes(5)))
    func importMutations() async throws {
        let (summary, seed, result) = try await Self.run("import_mutation")
        #expect(result.status == 0 && summary["failure_count"] as? Int == 0, "seed \(seed): \(String(describing: summary["defects"]))")
    }

    @Test("single-byte flips and truncations of data.mdb pages, result files, lease files and archives: every command ends with 0, 1, 3 or 4 (never a signal, a usage error or a hang); damage is found, and one repair makes the store clean without losing a valid result",
          .timeLimit(.minutes(8)))
    func flipsAndTruncations() async throws {
        let (summary, seed, _) = try await Self.run("flips")
        let outcomes = try #require(summary["outcomes"] as? [String: [String: Int]])
        for (command, ends) in outcomes {
            for end in ends.keys {
                #expect(["exit 0", "exit 1", "exit 3", "exit 4"].contains(end), "seed \(seed): \(command) ended with \(end)")
            }
        }
        // Every target comes out whole: data.mdb's structural damage is rebuilt by fsck --repair.
        #expect(summary["failure_count"] as? Int == 0, "seed \(seed): \(String(describing: summary["defects"]))")
    }
}
}
