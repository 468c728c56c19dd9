@testable import Cashet
import CashetTestSupport
import Foundation
import Testing

@Suite("Crash safety with real processes")
struct CrashTests {
    /// Starts the helper that stores (and deletes) large results until it is killed.
    static func startWriter(store: String, log: String, seed: Int) throws -> Process {
        try Products.startHelper(["write-large", store, log, "\(seed)"])
    }

    /// The result of `commit`, or nil when the commit does not exist.
    static func resultIfPresent(_ client: Client, _ commit: String) async throws -> [UInt8]? {
        do {
            return try await client.get(commit)
        } catch where error.code == .notFound {
            return nil
        }
    }

    @Test("a writer of large blobs killed with SIGKILL at random moments never damages a committed result (20 rounds)",
          .timeLimit(.minutes(5)))
    func killedWriter() async throws {
        let directory = TemporaryDirectory()
        let storePath = directory.child("store")
        var survivors: [String: ContentHash] = [:]   // commit hex → SHA-256 of the result it must hold
        var doubtful: [String: ContentHash] = [:]    // being removed when killed: gone, or intact
        var storedTotal = 0
        for round in 0..<20 {
            let log = directory.child("log-\(round)")
            let writer = try Self.startWriter(store: storePath, log: log, seed: round)
            usleep(UInt32.random(in: 150_000...900_000))
            kill(writer.processIdentifier, SIGKILL)
            writer.waitUntilExit()
            #expect(writer.terminationReason == .uncaughtSignal, "round \(round): the writer ended before it was killed")

            // Only complete lines: the kill may cut the last one.
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
                let fields = line.split(separator: " ")
                guard fields.count == 3, let index = Int(fields[1]) else { continue }
                let commit = String(fields[2])
                switch fields[0] {
                case "stored":
                    survivors[commit] = SHA256Hasher.hash(CrashPayload.bytes(seed: round, index: index))
                    storedTotal += 1
                case "removing":
                    doubtful[commit] = survivors.removeValue(forKey: commit)
                default:
                    doubtful[commit] = nil
                }
            }

            let client = Client(store: try LMDBStore(storePath), serializer: RawBytesSerializer())
            let report = try await client.fsck()
            #expect(!report.foundDamage, "round \(round): \(report.problems.filter(\.kind.isDamage))")
            for (commit, expected) in survivors {
                #expect(SHA256Hasher.hash(try await client.get(commit)) == expected, "round \(round): commit \(commit)")
            }
            for (commit, expected) in doubtful {
                if let bytes = try await Self.resultIfPresent(client, commit) {
                    #expect(SHA256Hasher.hash(bytes) == expected, "round \(round): commit \(commit)")
                } else {
                    doubtful[commit] = nil   // its removal committed before the kill
                }
            }
        }
        print("crash test: \(storedTotal) results stored, \(survivors.count) alive after 20 kills")
        #expect(storedTotal >= 20, "the writer stored only \(storedTotal) results in 20 rounds; the test proves little")
    }

    @Test("fsck while another process writes and deletes results reports no damage, and --repair removes nothing valid")
    func fsckBesideAWriter() async throws {
        let directory = TemporaryDirectory()
        let storePath = directory.child("store")
        let log = directory.child("log")
        let writer = try Self.startWriter(store: storePath, log: log, seed: 1)
        defer {
            kill(writer.processIdentifier, SIGKILL)
            writer.waitUntilExit()
        }
        while ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").isEmpty { usleep(20_000) }

        let client = Client(store: try LMDBStore(storePath), serializer: RawBytesSerializer())
        var checkedCommits = 0
        for round in 0..<16 {
            let report = try await client.fsck(repair: round % 2 == 1)
            #expect(!report.foundDamage, "round \(round): \(report.problems)")
            #expect(report.repairs.allSatisfy { !$0.contains("removed commit") }, "round \(round): \(report.repairs)")
            checkedCommits = report.commitsChecked
            usleep(100_000)
        }
        #expect(writer.isRunning, "the writer stopped early; the test proves little")
        #expect(checkedCommits > 0)
    }
}
