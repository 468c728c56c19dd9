@testable import Cashet
import CashetPostgres
import CashetTestSupport
import Foundation
import InMemoryLogging
import Logging
import Testing

/// Lines of a helper's log, split into fields.
private func logLines(_ path: String) -> [[Substring]] {
    ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map { $0.split(separator: " ") }
}

/// Waits (off the cooperative pool) for a helper process to end.
private func waitForExit(_ process: Process) async {
    await withCheckedContinuation { continuation in
        Thread {
            process.waitUntilExit()
            continuation.resume()
        }.start()
    }
}

/// Polls `condition` every 50 ms for at most `limit`.
private func eventually(within limit: Duration = .seconds(60), _ condition: () throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try condition()
}

extension HeavySuites {
@Suite("Machines sharing a PostgreSQL store through local LMDB tiers", .serialized)
struct DistributedTests {
    @Test("two machines: the results of one are hits for the other, copied into its local tier")
    func twoMachines() async throws {
        let url = try await PostgresTestCluster.shared().makeDatabase()
        let directory = TemporaryDirectory()
        let log = directory.child("ran.log")
        let machineA = "tiered:\(directory.child("a")),\(url)", machineB = "tiered:\(directory.child("b")),\(url)"
        let first = try await Products.runOffPool(Products.helper, ["overlap", machineA, "0", "100", log, "map"])
        #expect(first.status == 0 && first.stdout.hasPrefix("ok 100"), "\(first.stderr)")
        #expect(logLines(log).count == 100)
        // B asks for all of them in one map (heads, commits and results copied down in batches),
        // C one call at a time.
        let second = try await Products.runOffPool(Products.helper, ["overlap", machineB, "0", "100", log, "map"])
        #expect(second.status == 0 && second.stdout.hasPrefix("ok 100"), "\(second.stderr)")
        let machineC = "tiered:\(directory.child("c")),\(url)"
        let third = try await Products.runOffPool(Products.helper, ["overlap", machineC, "0", "100", log, "submit"])
        #expect(third.status == 0 && third.stdout.hasPrefix("ok 100"), "\(third.stderr)")
        #expect(logLines(log).count == 100, "machine B or C ran calls machine A had run")
        for machine in ["b", "c"] {
            let local = try LMDBStore(directory.child(machine))
            #expect(try await local.stats().commits == 100, "machine \(machine)'s local tier")
        }
    }

    @Test("4 processes submitting an overlapping set of 1,000 calls run each call exactly once")
    func overlappingWriters() async throws {
        let url = try await PostgresTestCluster.shared().makeDatabase()
        let directory = TemporaryDirectory()
        let log = directory.child("ran.log")
        let processes = try (0..<4).map { machine in
            try Products.startHelper(["overlap", "tiered:\(directory.child("m\(machine)")),\(url)", "0", "1000", log, machine % 2 == 0 ? "map" : "submit"],
                                     output: directory.child("out\(machine)"))
        }
        for process in processes { await waitForExit(process) }
        for machine in 0..<4 {
            let output = try String(contentsOfFile: directory.child("out\(machine)"), encoding: .utf8)
            #expect(output.hasPrefix("ok 1000"), "machine \(machine): \(output)")
        }
        let runs = logLines(log).map { Int($0[1])! }
        #expect(runs.count == 1000, "\(runs.count) executions for 1,000 distinct calls")
        #expect(Set(runs) == Set(0..<1000))
        let runners = Set(logLines(log).map { $0[2] })
        #expect(runners.count > 1, "one process ran everything; the test did not overlap")
        let store = try await PostgresStore(url: url)
        #expect(try await store.stats().commits == 1000)
        #expect(try await PostgresTestCluster.shared().sql("SELECT count(*) FROM cashet_leases", database: url) == "0")
        await store.close()
    }

    @Test("a lease held by a process killed with SIGKILL is taken over once it expires")
    func killedLeaseHolder() async throws {
        let url = try await PostgresTestCluster.shared().makeDatabase(options: "lease_seconds=2")
        let directory = TemporaryDirectory()
        let log = directory.child("ran.log")
        let holder = try Products.startHelper(["hold", url, log])
        #expect(await eventually { logLines(log).count == 1 })
        kill(holder.processIdentifier, SIGKILL)
        await waitForExit(holder)
        let owner = try await PostgresTestCluster.shared().sql("SELECT owner FROM cashet_leases", database: url)
        #expect(owner.contains(":\(holder.processIdentifier):"), "lease row: \(owner)")

        let runs = ExecutionCounter()
        let sleeper = CachedFunction("sleeper", version: "1") { (_: Int) -> Int in runs.tick(); return 7 }
        let store = try await PostgresStore(url: url)
        let ref = try await Client(store: store).submit(sleeper, 1)
        let value = try await ref.load()
        #expect(!ref.wasCached && runs.value == 1 && value == 7)
        await store.close()
        #expect(try await PostgresTestCluster.shared().sql("SELECT count(*) FROM cashet_leases", database: url) == "0")
    }

    @Test("PostgreSQL restarted mid-run: calls wait and retry, and every acknowledged result is there afterwards")
    func serverRestart() async throws {
        let cluster = try await PostgresTestCluster.start()
        let url = try await cluster.makeDatabase(options: "retry_seconds=60")
        let directory = TemporaryDirectory()
        let log = directory.child("acks.log")
        let writer = try Products.startHelper(["stream", "tiered:\(directory.child("local")),\(url)", log, "400"], output: directory.child("out"))
        #expect(await eventually { logLines(log).count >= 50 })
        try await cluster.stop()
        let ackedWhileDown = logLines(log).count
        try await Task.sleep(for: .seconds(1))
        try await cluster.restart()
        await waitForExit(writer)
        #expect(writer.terminationStatus == 0, "\((try? String(contentsOfFile: directory.child("out"), encoding: .utf8)) ?? "")")
        let lines = logLines(log)
        let errors = lines.filter { $0[0] == "error" }
        // Retrying is the expected outcome; an error, if any, must say what happened.
        for error in errors { #expect(error.count > 3 && error[2] == "store" && error[3] == "unavailable:", "\(error.joined(separator: " "))") }
        let acked = lines.filter { $0[0] == "acked" }
        #expect(acked.count + errors.count == 400 && acked.count > ackedWhileDown)

        let store = try await PostgresStore(url: url)
        for line in acked {
            let commit = try #require(try await store.commit(ContentHash(hex: String(line[2]))), "acknowledged commit \(line[2]) is missing")
            #expect(commit.output?.hash.hex == String(line[3]))
            #expect(ContentHash(hashing: try await store.blob(commit.output!.hash)).hex == String(line[3]))
        }
        #expect(try await store.check(repair: false).problems.isEmpty)
        await store.close()
    }

    @Test("a lease heartbeat that fails while PostgreSQL is stopped is logged as a warning, and its recovery as a notice")
    func heartbeatFailureIsLogged() async throws {
        let cluster = try await PostgresTestCluster.start()
        let url = try await cluster.makeDatabase(options: "lease_seconds=3&retry_seconds=2")
        let logs = InMemoryLogHandler()
        var configuration = try PostgresStore.Configuration(url: url)
        configuration.logger = Logger(label: "test") { _ in logs }
        let store = try await PostgresStore(configuration)
        let held = try #require(try await store.tryLease(try CachedFunction("held", version: "1") { (x: Int) in x }.fingerprint(1)))
        try await cluster.stop()
        let warned = await eventually(within: .seconds(30)) {
            logs.entries.contains { $0.level == .warning && "\($0.message)".hasPrefix("lease heartbeat failed") }
        }
        #expect(warned, "\(logs.entries.map { "\($0.level) \($0.message)" })")
        let warning = logs.entries.first { $0.level == .warning }
        #expect(warning?.metadata["store"].map { "\($0)" }?.contains(cluster.password) == false, "the password is in the log")
        try await cluster.restart()
        #expect(await eventually(within: .seconds(30)) { logs.entries.contains { "\($0.message)" == "lease heartbeat recovered" } })
        held.release()
        await store.close()
        #expect(!logs.entries.contains { "\($0)".contains(cluster.password) }, "the password is in the log")
    }

    @Test("the local tier serves hits while PostgreSQL is down; misses fail with .unavailable until it is back")
    func localTierWhileDown() async throws {
        let cluster = try await PostgresTestCluster.start()
        let url = try await cluster.makeDatabase(options: "retry_seconds=1")
        let directory = TemporaryDirectory()
        let store = TieredStore(local: try LMDBStore(directory.child("local")), remote: try await PostgresStore(url: url))
        let client = Client(store: store)
        let runs = ExecutionCounter()
        let cube = CachedFunction("cube", version: "1") { (x: Int) in runs.tick(); return x * x * x }
        for x in 0..<10 { _ = try await client.submit(cube, x) }
        try await cluster.stop()
        for x in 0..<10 {
            let ref = try await client.submit(cube, x)
            let value = try await ref.load()
            #expect(ref.wasCached && value == x * x * x)
        }
        #expect(runs.value == 10)
        await #expect { try await client.submit(cube, 99) } throws: { ($0 as? CashetError)?.code == .unavailable }
        #expect(runs.value == 10, "a miss ran while its result could not be recorded")
        try await cluster.restart()
        #expect(try await client.submit(cube, 99).load() == 970_299)
        #expect(runs.value == 11)
        await client.close()
    }

    @Test("a bounded local tier is trimmed to its limit; what it evicted comes back from PostgreSQL")
    func boundedLocalTier() async throws {
        let url = try await PostgresTestCluster.shared().makeDatabase()
        let directory = TemporaryDirectory()
        let local = try LMDBStore(directory.child("local"))
        let store = TieredStore(local: local, remote: try await PostgresStore(url: url), configuration: .init(localLimit: 200_000))
        let client = Client(store: store, serializer: RawBytesSerializer())
        let runs = ExecutionCounter()
        let blob = CachedFunction("blob", version: "1") { (x: Int) -> [UInt8] in runs.tick(); return TestPayload.incompressible(20_000, seed: UInt64(x)) }
        for x in 0..<60 { _ = try await client.submit(blob, x) }
        #expect(try await eventually(within: .seconds(20)) { try local.storedBytes() <= 200_000 })
        for x in 0..<60 {
            let ref = try await client.submit(blob, x)
            let value = try await ref.load()
            #expect(ref.wasCached && value == TestPayload.incompressible(20_000, seed: UInt64(x)))
        }
        #expect(runs.value == 60 && store.localFailures.count == 0)
        await client.close()
    }
}
}
