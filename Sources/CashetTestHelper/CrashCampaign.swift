import Cashet
import CashetTestSupport
import Foundation

/// Rounds of: start ``CampaignWorkload`` in a new process, SIGKILL it at a random moment, then
/// open the store and check everything it acknowledged. The test suite runs a short campaign
/// (`CrashCampaignTests`), `scripts/crash-campaign.sh` a long one; both through this type.
///
/// After every round:
/// - the store opens (as a writer), and `fsck` finds no damage (leftover files are allowed);
/// - every result acknowledged in any round ("ok" lines) loads, and hashes to what was acknowledged;
/// - a commit whose `rm` returned is gone; one being removed or collected when the kill came is
///   either gone or intact;
/// - `stats` counts exactly the commits `log` lists.
struct CrashCampaign {
    let directory: String
    let rounds: Int
    let seed: UInt64
    /// The moment of the kill, in microseconds after the workload's first logged step.
    let killAfter: ClosedRange<UInt32> = 0...650_000

    /// What a campaign found; `lost`, `wrong`, `resurrected`, `damaged` and `miscounted` must be 0.
    struct Summary: Codable {
        var rounds = 0
        var acknowledged = 0
        var verifiedLoads = 0
        var lost = 0
        var wrong = 0
        var resurrected = 0
        var damaged = 0
        var miscounted = 0
        var workloadExitedEarly = 0
        var commitsAtEnd = 0
        /// Operations that completed, by kind: ok (a result acknowledged), rm, gc, import.
        var completed: [String: Int] = [:]
        /// What the workload was doing when it was killed (after its last complete log line).
        var killedDuring: [String: Int] = [:]
        var failures: [String] = []
    }

    private var storePath: String { directory + "/store" }
    private var archivePath: String { directory + "/seed.cashet" }

    func run(progress: (Summary) -> Void) async throws(CashetError) -> Summary {
        let archived = try await makeArchive()
        var summary = Summary()
        var expected: [String: String] = [:]   // commit → SHA-256 of its result
        var doubtful: [String: String] = [:]   // under rm or gc when killed: gone, or intact
        var gone = Set<String>()               // rm returned
        for round in 0..<rounds {
            let log = directory + "/round-\(round).log"
            let status = try killWorkload(round: round, log: log)
            if status != nil { summary.workloadExitedEarly += 1; summary.failures.append("round \(round): the workload exited by itself (\(status!))") }
            apply(log: log, archived: archived, expected: &expected, doubtful: &doubtful, gone: &gone, summary: &summary)
            try await verify(round: round, expected: &expected, doubtful: &doubtful, gone: gone, summary: &summary)
            summary.rounds += 1
            progress(summary)
        }
        return summary
    }

    /// A small store exported once; the workload imports it again and again.
    private func makeArchive() async throws(CashetError) -> [String: String] {
        let seedStore = directory + "/archive-source"
        let client = Client(store: try LMDBStore(seedStore, configuration: CampaignWorkload.configuration(.noSync)), serializer: RawBytesSerializer())
        var archived: [String: String] = [:]
        for key in [7, 70_000_001, 70_000_002] {
            let ref = try await client.submit(CampaignWorkload.small, key)
            archived[ref.commit.hex] = ref.hash.hex
        }
        let large = try await client.submit(CampaignWorkload.large, 70_000_000)
        archived[large.commit.hex] = large.hash.hex
        _ = try await client.exportArchive(to: archivePath)
        return archived
    }

    /// Runs one round's workload and kills it; returns its exit status if it ended by itself.
    private func killWorkload(round: Int, log: String) throws(CashetError) -> Int32? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = ["campaign", storePath, log, archivePath, "\(seed &* 100_003 &+ UInt64(round))", ["durable", "normal", "nosync"][round % 3]]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.standardError
        do { try process.run() } catch { throw CashetError(.storage, "cannot start the campaign workload", underlying: error) }
        if round % 10 == 9 {
            // Every tenth round dies early: while the store is being opened or created.
            usleep(UInt32.random(in: 0...80_000))
        } else {
            // Otherwise the clock starts at the workload's first logged step, so a slow start
            // (a sanitizer build, a loaded machine) does not use up the round.
            let startBy = Date().addingTimeInterval(10)
            while process.isRunning && Date() < startBy && ((try? Data(contentsOf: URL(fileURLWithPath: log)))?.isEmpty ?? true) { usleep(5_000) }
            usleep(UInt32.random(in: killAfter))
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal ? nil : process.terminationStatus
    }

    /// Reads the complete lines of a round's log into the expectations.
    private func apply(log: String, archived: [String: String], expected: inout [String: String], doubtful: inout [String: String],
                       gone: inout Set<String>, summary: inout Summary) {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        // The kill may cut the last line: only lines that end in a newline count.
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        let inFlight = ["removing": "rm", "gc-begin": "gc", "import-begin": "import"]
        let during = lines.isEmpty ? "start" : lines.last.flatMap { inFlight[String($0.split(separator: " ")[0])] } ?? "submit or map"
        summary.killedDuring[during, default: 0] += 1
        for line in lines {
            let fields = line.split(separator: " ").map(String.init)
            switch (fields.first, fields.count) {
            case ("ok", 3):
                expected[fields[1]] = fields[2]
                doubtful[fields[1]] = nil
                gone.remove(fields[1])
                summary.acknowledged += 1
                summary.completed["ok", default: 0] += 1
            case ("removing", 2):
                if let hash = expected.removeValue(forKey: fields[1]) { doubtful[fields[1]] = hash }
            case ("removed", 2):
                doubtful[fields[1]] = nil
                gone.insert(fields[1])
                summary.completed["rm", default: 0] += 1
            case ("gc-begin", 1):
                doubtful.merge(expected) { old, _ in old }
                expected = [:]
            case ("gc-end", 1):
                summary.completed["gc", default: 0] += 1
            case ("import-begin", 1):
                // Commits of the archive that are not expected may appear; they must then be intact.
                for (commit, hash) in archived where expected[commit] == nil { doubtful[commit] = hash }
            case ("import-end", 1):
                summary.completed["import", default: 0] += 1
                for (commit, hash) in archived {
                    expected[commit] = hash
                    doubtful[commit] = nil
                    gone.remove(commit)
                }
            default:
                continue
            }
        }
    }

    private func verify(round: Int, expected: inout [String: String], doubtful: inout [String: String], gone: Set<String>,
                        summary: inout Summary) async throws(CashetError) {
        let client: Client
        do {
            client = Client(store: try LMDBStore(storePath, configuration: CampaignWorkload.configuration(.durable)), serializer: RawBytesSerializer())
        } catch {
            summary.damaged += 1
            summary.failures.append("round \(round): the store does not open: \(error)")
            return
        }
        let report = try await client.fsck()
        for problem in report.problems where problem.kind.isDamage {
            summary.damaged += 1
            summary.failures.append("round \(round): fsck: \(problem.kind) \(problem.subject) \(problem.detail)")
        }
        for (commit, hash) in expected {
            switch await load(client, commit) {
            case .some(hash): summary.verifiedLoads += 1
            case .none:
                summary.lost += 1
                summary.failures.append("round \(round): acknowledged commit \(commit) is gone")
                expected[commit] = nil
            case .some(let other):
                summary.wrong += 1
                summary.failures.append("round \(round): commit \(commit) holds \(other), not \(hash)")
            }
        }
        // The killed process can no longer remove anything: what is still there is kept for good.
        for (commit, hash) in doubtful {
            switch await load(client, commit) {
            case .none: break
            case .some(hash): expected[commit] = hash
            case .some(let other):
                summary.wrong += 1
                summary.failures.append("round \(round): commit \(commit) under removal holds \(other), not \(hash)")
            }
        }
        doubtful = [:]
        for commit in gone where expected[commit] == nil {
            if await load(client, commit) != nil {
                summary.resurrected += 1
                summary.failures.append("round \(round): removed commit \(commit) is back")
            }
        }
        let listed = try await client.log().count
        let counted = try await client.stats().commits
        if listed != counted {
            summary.miscounted += 1
            summary.failures.append("round \(round): stats counts \(counted) commits, log lists \(listed)")
        }
        summary.commitsAtEnd = listed
        await client.close()
    }

    /// The SHA-256 (hex) of a commit's result, or nil when the commit is gone.
    private func load(_ client: Client, _ commit: String) async -> String? {
        do {
            return ContentHash(hashing: try await client.get(commit)).hex
        } catch {
            return error.code == .notFound ? nil : "an error (\(error))"
        }
    }
}
