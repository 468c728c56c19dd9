@testable import Cashet
import CashetTestSupport
import Foundation
import Testing

/// Faults other processes leave behind: the locks and leases of a writer killed mid-batch, and
/// a copy of the store taken while a writer was busy. Both load the machine (a writer of a million
/// calls, eight copies of a busy store), so they run among the heavy suites, one at a time: beside
/// the other campaigns on CI a round once took five minutes of waiting, with nothing wrong.
extension HeavySuites {
@Suite("Faults left by other processes")
struct DeadProcessFaultTests {
    /// The overlap helper's function, by the same name and version.
    static let slow = CachedFunction("slow", version: "1") { (x: Int) -> Int in x * 3 }

    @Test("a map writer SIGKILLed mid-batch (LMDB's write lock, objects lock and thousands of leases held) blocks nobody: the next writer goes on at once",
          .timeLimit(.minutes(10)))
    func killedBatchWriterLeavesNoStaleLock() async throws {
        let directory = TemporaryDirectory()
        let storePath = directory.child("store")
        var acknowledged: [Int: String] = [:]   // input → commit, from earlier rounds' clients
        for round in 0..<5 {
            let log = directory.child("log-\(round)")
            // A million calls (two minutes of work at 16 × 2 ms): the writer is still running when
            // it is killed, even when this test's task is held up for seconds on a loaded machine
            // (CI: with 100,000, a round's writer once finished before the kill).
            let start = round * 1_000_000
            let output = directory.child("output-\(round)")
            let writer = try Products.startHelper(["overlap", storePath, "\(start)", "\(start + 1_000_000)", log, "map"], output: output)
            while ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").count < 2_000 { try await Task.sleep(for: .milliseconds(10)) }
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...150)))
            kill(writer.processIdentifier, SIGKILL)
            writer.waitUntilExit()
            #expect(writer.terminationReason == .uncaughtSignal,
                    "round \(round): the writer ended by itself: \((try? String(contentsOfFile: output, encoding: .utf8)) ?? "")")

            // Inputs the dead writer had started (so leased, perhaps never committed) run here without waiting.
            let client = try Client(path: storePath)
            let inputs = Array(start..<(start + 300))
            let started = ContinuousClock.now
            let refs = try await client.map(Self.slow, over: inputs)
            #expect(try await refs.asyncMap { try await $0.load() } == inputs.map { $0 * 3 })
            #expect(ContinuousClock.now - started < .seconds(20), "round \(round): the next writer waited on a dead process")
            let report = try await client.fsck()
            #expect(!report.foundDamage, "round \(round): \(report.problems)")
            for (input, commit) in acknowledged {
                #expect(try await client.show(commit).output != nil, "round \(round): input \(input)")
            }
            for (input, ref) in zip(inputs, refs).prefix(10) { acknowledged[input] = ref.commit.hex }
            await client.close()
        }
    }

    @Test("a copy of the store taken while a writer is busy is never a crash: fsck and stats on it answer with a status; the original stays intact",
          .timeLimit(.minutes(10)))
    func storeCopiedWhileWritten() async throws {
        let directory = TemporaryDirectory()
        let storePath = directory.child("store")
        let log = directory.child("log")
        let writer = try HeavySuites.CrashTests.startWriter(store: storePath, log: log, seed: 3)
        while ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").isEmpty { try await Task.sleep(for: .milliseconds(20)) }
        var statuses: [Int32] = []
        for copy in 0..<8 {
            let copyPath = directory.child("copy-\(copy)")
            // A plain recursive copy, as `cp -r` or a backup tool would take it.
            _ = try await Products.runOffPool("/bin/cp", ["-r", storePath, copyPath])
            for arguments in [["fsck", "--json"], ["stats"], ["log", "-n", "5"]] {
                let result = try await Products.runOffPool(Products.cli, arguments + ["--store", copyPath])
                #expect([0, 1, 3].contains(result.status), "copy \(copy) \(arguments): status \(result.status) \(result.stderr)")
                if result.status == 3 { #expect(result.stderr.contains("error: ") || result.stdout.contains("damage"), "\(result.stderr)") }
                statuses.append(result.status)
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 50...250)))
        }
        kill(writer.processIdentifier, SIGKILL)
        writer.waitUntilExit()
        let client = Client(store: try LMDBStore(storePath), serializer: RawBytesSerializer())
        let report = try await client.fsck()
        #expect(!report.foundDamage, "\(report.problems)")
        print("copies taken mid-write: statuses \(statuses)")
    }
}
}

extension Sequence {
    /// `map` with an async transform, in order.
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
