@testable import Cashet
import CashetTestSupport
import Foundation
import Testing

@Suite("Execution across processes: leases, takeover after SIGKILL, process executor")
struct CrossProcessExecutionTests {
    @Test("4 processes with overlapping sets of 1,000 calls (two by map, two by submit) execute each distinct call exactly once",
          .timeLimit(.minutes(5)))
    func overlappingProcesses() async throws {
        let directory = TemporaryDirectory()
        let store = directory.child("store")
        _ = try Client(path: store)   // create it before the race
        let log = directory.child("ran")
        let ranges = [(0, 1000, "map"), (250, 1250, "submit"), (500, 1500, "map"), (750, 1750, "submit")]
        let processes = try ranges.enumerated().map { index, range in
            try Products.startHelper(["overlap", store, "\(range.0)", "\(range.1)", log, range.2], output: directory.child("out-\(index)"))
        }
        for (index, process) in processes.enumerated() {
            process.waitUntilExit()
            let output = (try? String(contentsOfFile: directory.child("out-\(index)"), encoding: .utf8)) ?? ""
            #expect(process.terminationStatus == 0 && output.contains("ok 1000"), "process \(index): \(output)")
        }
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        var executions: [Int: Int] = [:]
        var processesThatRan = Set<Substring>()
        for line in lines {
            let fields = line.split(separator: " ")
            executions[Int(fields[1])!, default: 0] += 1
            processesThatRan.insert(fields[2])
        }
        #expect(executions.count == 1750)
        #expect(executions.values.allSatisfy { $0 == 1 }, "run twice: \(executions.filter { $0.value > 1 }.keys.sorted().prefix(10))")
        #expect(processesThatRan.count > 1, "the work was shared between processes")
        let client = try Client(path: store)
        #expect(try await client.stats().commits == 1750)
    }

    @Test("a process killed with SIGKILL while holding a call's lease does not block the next caller")
    func killedLeaseHolder() async throws {
        let directory = TemporaryDirectory()
        let store = directory.child("store")
        let log = directory.child("log")
        let client = try Client(path: store)
        let holder = try Products.startHelper(["hold", store, log])
        while (try? String(contentsOfFile: log, encoding: .utf8))?.contains("started") != true { try await Task.sleep(for: .milliseconds(10)) }
        let sleeper = CachedFunction("sleeper", version: "1") { (_: Int) -> Int in 42 }   // same identity, a quick body
        #expect(try await client.store.tryLease(try sleeper.fingerprint(1)) == nil, "the holder's lease is in force")

        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        let waited = ContinuousClock.now
        let ref = try await client.submit(sleeper, 1)
        #expect(try await ref.load() == 42 && !ref.wasCached)
        #expect(ContinuousClock.now - waited < .seconds(10), "the dead holder's lease was not taken over")
    }

    @Test("ProcessExecutor runs bodies in child processes; a crashing child, or one that exits before reading its request (EPIPE), fails its call and the caller survives")
    func processExecutor() async throws {
        let directory = TemporaryDirectory()
        let result = try Products.run(Products.helper, ["process-executor", directory.child("store")])
        #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map { $0.split(separator: " ") }
        let pids = try #require(lines.first { $0.first == "pid" })
        #expect(pids.count == 3 && pids[1] != pids[2], "the body ran in the caller: \(pids)")
        let crash = try #require(lines.first { $0.first == "crash" }).joined(separator: " ")
        #expect(crash.contains("execution failed") && crash.contains("signal"), "\(crash)")
        // A worker that exits before reading its request: a typed failure, and the caller (which
        // printed this line at all) survived the EPIPE.
        let early = try #require(lines.first { $0.first == "early-exit" }, "the caller died: \(result.stderr)").joined(separator: " ")
        #expect(early.contains("execution failed") && early.contains("before reading its request"), "\(early)")
        let client = try Client(path: directory.child("store"))
        let stats = try await client.stats()
        #expect(stats.completed == 1 && stats.failed == 2)
    }
}
