@testable import Cashet
import CashetTestSupport
import Foundation
import InMemoryLogging
import Logging
import MetricsTestKit
import Testing

/// A function that fails on the attempts `failing` says, and counts its runs.
private func flaky(_ runs: ExecutionCounter, failing: @escaping @Sendable (Int) -> Bool) -> CachedFunction<Int, Int> {
    CachedFunction("flaky", version: "1") { (x: Int) throws -> Int in
        runs.tick()
        if failing(runs.value) { throw CashetError(.invalidArgument, "attempt \(runs.value) fails") }
        return x * 2
    }
}

@Suite("Logging, metrics and hit counts")
struct ObservabilityTests {
    @Test("swift-metrics counts hits, misses, executions, failures, stored bytes and commit time, for submit and map")
    func metricsCountCalls() async throws {
        let metrics = TestMetrics()
        let directory = TemporaryDirectory()
        let client = Client(store: try LMDBStore(directory.child("store")), metricsFactory: metrics)
        let runs = ExecutionCounter()
        let double = flaky(runs) { $0 == 2 }
        _ = try await client.submit(double, 1)                                             // miss, 1 run
        _ = try await client.submit(double, 1)                                             // hit
        _ = try await client.submit(double, 2, options: CallOptions(retries: 1, retryDelay: .milliseconds(1)))   // miss, 2 runs
        await #expect(throws: CashetError.self) { try await client.submit(flaky(runs) { _ in true }, 3) }     // miss, failed
        _ = try await client.map(double, over: [1, 2, 4])                                  // 2 hits, 1 miss
        #expect(metrics.counterTotal(label: "cashet_hits") == 3)
        #expect(metrics.counterTotal(label: "cashet_misses") == 4)
        #expect(metrics.counterTotal(label: "cashet_executions") == 5)
        #expect(metrics.counterTotal(label: "cashet_failures") == 1)
        #expect(metrics.counterTotal(label: "cashet_stored_bytes") > 0)
        #expect(try metrics.expectTimer("cashet_commit_duration").values.count == 4)
        await client.close()
    }

    @Test("a retry is logged as a notice and a call recorded as failed as a warning, with the function and fingerprint")
    func retriesAndFailuresAreLogged() async throws {
        let logs = InMemoryLogHandler()
        let directory = TemporaryDirectory()
        let client = try Client(path: directory.child("store"), logger: Logger(label: "test") { _ in logs })
        let runs = ExecutionCounter()
        _ = try await client.submit(flaky(runs) { $0 == 1 }, 5, options: CallOptions(retries: 2, retryDelay: .milliseconds(1)))
        let retry = try #require(logs.entries.first { $0.level == .notice })
        #expect("\(retry.message)" == "attempt failed, retrying")
        #expect(retry.metadata["function"] == "flaky" && retry.metadata["attempt"] == "1" && retry.metadata["fingerprint"] != nil)
        #expect(!logs.entries.contains { $0.level >= .warning })

        await #expect(throws: CashetError.self) { try await client.submit(flaky(runs) { _ in true }, 6) }
        let failure = try #require(logs.entries.first { $0.level == .warning })
        #expect("\(failure.message)" == "call recorded as failed" && failure.metadata["commit"] != nil)
        await client.close()
    }

    @Test("hit and miss counts survive the process's store; stats shows this process's counts before they are written")
    func countsArePersisted() async throws {
        let directory = TemporaryDirectory()
        let path = directory.child("store")
        let square = CachedFunction("square", version: "1") { (x: Int) in x * x }
        do {
            let client = try Client(path: path)
            for x in [1, 2, 1, 1] { _ = try await client.submit(square, x) }
            let stats = try await client.stats()
            #expect(stats.hits == 2 && stats.misses == 2 && stats.hitRate == 0.5)
            await client.close()
        }
        let reopened = try Client(path: path)
        for _ in 0..<3 { _ = try await reopened.submit(square, 2) }
        await reopened.close()
        var readOnly = LMDBStore.Configuration()
        readOnly.readOnly = true
        let stats = try await LMDBStore(path, configuration: readOnly).stats()
        #expect(stats.hits == 5 && stats.misses == 2)
    }

    @Test("a changed byte in the hits-and-misses record is found by fsck, shown as 0 by stats, and removed by repair")
    func damagedUsageRecord() async throws {
        let directory = TemporaryDirectory()
        let store = try LMDBStore(directory.child("store"))
        let client = Client(store: store)
        let square = CachedFunction("square", version: "1") { (x: Int) in x * x }
        for x in [1, 1, 1] { _ = try await client.submit(square, x) }
        await client.close()
        var record = try #require(try store.reading("test") { txn in try txn.get(store.tables.meta, LMDBStore.usageKey) })
        #expect(CallUsage(record) == { var usage = CallUsage(); (usage.hits, usage.misses) = (2, 1); return usage }())
        record[3] ^= 0x10
        _ = try store.writing("test") { txn in try txn.put(store.tables.meta, LMDBStore.usageKey, record) }
        #expect(try await client.fsck().problems.map(\.kind) == [.damagedUsage])
        let stats = try await client.stats()
        #expect(stats.hits == 0 && stats.misses == 0)
        let repaired = try await client.fsck(repair: true)
        #expect(repaired.unrepaired.isEmpty && repaired.repairs.contains { $0.contains("hits and misses") })
        #expect(try await client.fsck().problems.isEmpty)
        _ = try await client.submit(square, 1)
        await client.close()
        #expect(try await client.stats().hits == 1)
    }

    @Test("`stats --json` shows the hits and misses of two runs of the demo")
    func statsAfterTheDemoTwice() throws {
        let directory = TemporaryDirectory()
        let store = directory.child("demo")
        for _ in 0..<2 {
            let demo = try Products.run(Products.executable("cashet-demo"), ["--store", store, "--chunks", "20", "--changed", "2"])
            #expect(demo.status == 0, "\(demo.stdout) \(demo.stderr)")
        }
        let stats = try Products.run(Products.cli, ["--store", store, "stats", "--json"])
        #expect(stats.status == 0, "\(stats.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])
        // First run: 20 misses. Second: 18 hits and the 2 changed chunks, which miss every run.
        #expect(object["hits"] as? Int == 18 && object["misses"] as? Int == 22 && object["hit_rate"] as? Double == 0.45, "\(stats.stdout)")
        let text = try Products.run(Products.cli, ["--store", store, "stats"])
        #expect(text.stdout.contains("40 (18 hits, 22 misses; hit rate 45.0%)"), "\(text.stdout)")
    }
}
