@testable import Cashet
import CashetTestSupport
import Foundation
import Testing

extension HeavySuites {
@Suite("Crash safety with real processes")
struct CrashTests {
    /// Starts the helper that stores (and deletes) large results until it is killed.
    static func startWriter(store: String, log: String, seed: Int) throws -> Process {
        try Products.startHelper(["write-large", store, log, "\(seed)"])
    }

    @Test("30 rounds of a mixed workload (small and large results, hits, map batches, rm, gc, import) SIGKILLed at random moments: nothing acknowledged is lost or wrong",
          .timeLimit(.minutes(5)))
    func crashCampaign() async throws {
        let directory = TemporaryDirectory()
        let result = try await Products.runOffPool(Products.helper, ["crash-campaign", directory.path, "30", "\(UInt64.random(in: 0...UInt64(UInt32.max)))"])
        let summary = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? [:]
        print("crash campaign: \(result.stdout)")
        #expect(result.status == 0 && summary["failures"] as? [String] == [], "\(result.stdout) \(result.stderr)")
        #expect(summary["rounds"] as? Int == 30)
        for counter in ["lost", "wrong", "resurrected", "damaged", "miscounted", "workloadExitedEarly"] {
            #expect(summary[counter] as? Int == 0, "\(counter): \(result.stdout)")
        }
        // The campaign proves something only if the workload got far: results and every kind of operation.
        let completed = summary["completed"] as? [String: Int] ?? [:]
        #expect((completed["ok"] ?? 0) >= 3_000 && (summary["verifiedLoads"] as? Int ?? 0) >= 3_000, "\(result.stdout)")
        for operation in ["rm", "gc", "import"] { #expect((completed[operation] ?? 0) >= 5, "\(operation): \(result.stdout)") }
    }

    @Test("fsck (in-process and the CLI's) while another process writes and deletes results reports no damage, and --repair removes nothing valid")
    func fsckBesideAWriter() async throws {
        let directory = TemporaryDirectory()
        let storePath = directory.child("store")
        let log = directory.child("log")
        let writer = try Self.startWriter(store: storePath, log: log, seed: 1)
        defer {
            kill(writer.processIdentifier, SIGKILL)
            writer.waitUntilExit()
        }
        while ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").isEmpty { try await Task.sleep(for: .milliseconds(20)) }

        let client = Client(store: try LMDBStore(storePath), serializer: RawBytesSerializer())
        var checkedCommits = 0
        for round in 0..<16 {
            let report = try await client.fsck(repair: round % 2 == 1)
            #expect(!report.foundDamage, "round \(round): \(report.problems)")
            #expect(report.repairs.allSatisfy { !$0.contains("removed commit") }, "round \(round): \(report.repairs)")
            checkedCommits = report.commitsChecked
            // The CLI checks data.mdb's pages first, through a snapshot it pins: a writer that
            // moves on meanwhile must not look like damage.
            if round % 4 == 0 {
                let cli = try await Products.runOffPool(Products.cli, ["fsck", round % 8 == 0 ? "--repair" : "--json", "--store", storePath])
                #expect(cli.status == 0, "round \(round): \(cli.stdout) \(cli.stderr)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(writer.isRunning, "the writer stopped early; the test proves little")
        #expect(checkedCommits > 0)
    }
}
}
