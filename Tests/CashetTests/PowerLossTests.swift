import CashetTestSupport
import Foundation
import Testing

extension HeavySuites {
@Suite("Power loss: crash states built from a recording of the store's file operations")
struct PowerLossTests {
    static let campaign = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../scripts/powerloss/campaign.py").standardized.path

    @Test("50 crash states per durability mode (unsynced writes dropped, reordered, torn): durable loses no acknowledged result and needs no repair of a valid one; normal (the journal, the default) loses none acknowledged before its last flush, and is never damaged; no mode makes a command crash or misreport; `fsck --repair --rebuild` leaves every noSync state clean without removing a result it served",
          .timeLimit(.minutes(10)))
    func shortCampaign() async throws {
        let seed = UInt32.random(in: 1...UInt32.max)
        let result = try await Products.runOffPool("/usr/bin/python3", [Self.campaign, "--bin", Products.directory.path, "--states", "50",
                                                                         "--seed", "\(seed)", "--modes", "durable,normal,nosync", "--jobs", "1", "--rebuild"])
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "seed \(seed): \(result.stderr)")
        print("power-loss campaign, seed \(seed): \(result.stdout)")
        #expect(result.status == 0, "seed \(seed): \(result.stderr.suffix(2000))")
        for mode in ["durable", "normal"] {
            let summary = try #require(summary[mode] as? [String: Any])
            #expect(summary["states"] as? Int == 50)
            for counter in ["acked_lost", "valid_removed_by_repair", "signals", "bad_exit_codes", "timeouts", "unopenable", "damaged_unrepaired", "failed_states"] {
                #expect(summary[counter] as? Int == 0, "\(mode) \(counter), seed \(seed)")
            }
            // The campaign proves something only if it checked many acknowledged results.
            #expect((summary["acked_checked"] as? Int ?? 0) >= 1_000, "\(mode), seed \(seed)")
        }
        let noSync = try #require(summary["nosync"] as? [String: Any])
        // A program starting on a noSync store a power cut damaged may still fault inside LMDB
        // (no process can catch that in itself); the CLI never may.
        for counter in ["cli_signals", "bad_exit_codes", "timeouts", "valid_removed_by_repair", "damaged_unrepaired"] {
            #expect(noSync[counter] as? Int == 0, "nosync \(counter), seed \(seed)")
        }
    }
}
}
