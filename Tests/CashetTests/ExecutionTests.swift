@testable import Cashet
import CashetTestSupport
import Foundation
import Synchronization
import Testing

/// Thrown by test bodies.
struct Boom: Error, CustomStringConvertible {
    var description: String { "boom" }
}

/// The most bodies running at once.
final class ConcurrencyGauge: Sendable {
    private let state = Mutex((running: 0, peak: 0))
    func enter() { state.withLock { $0.running += 1; $0.peak = max($0.peak, $0.running) } }
    func leave() { state.withLock { $0.running -= 1 } }
    var peak: Int { state.withLock { $0.peak } }
}

@Suite("Execution: single-flight, retries, timeouts, TTL, force, cancellation")
struct ExecutionTests {
    @Test("8 concurrent tasks submitting the same call execute it once and share its result")
    func singleFlightInProcess() async throws {
        let fixture = try Fixture()
        let runs = ExecutionCounter()
        let slow = CachedFunction("slow-square", version: "1") { (x: Int) -> Int in
            runs.tick()
            try await Task.sleep(for: .milliseconds(200))
            return x * x
        }
        let results = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            for _ in 0..<8 { group.addTask { let ref = try await fixture.client.submit(slow, 7); return (try await ref.load(), ref.wasCached) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(runs.value == 1)
        #expect(results.allSatisfy { $0.0 == 49 })
        #expect(results.filter { !$0.1 }.count == 1, "one ran, seven were answered by its commit")
        #expect(try await fixture.client.stats().commits == 1)
    }

    @Test("retries stop after the configured count; only the last failure is recorded")
    func retries() async throws {
        let fixture = try Fixture()
        let runs = ExecutionCounter()
        let failing = CachedFunction("always-fails", version: "1", options: CallOptions(retries: 2, retryDelay: .milliseconds(1))) { (_: Int) -> Int in
            runs.tick()
            throw Boom()
        }
        await #expect(throws: CashetError.self) { try await fixture.client.submit(failing, 1) }
        #expect(runs.value == 3)
        let failed = try await fixture.client.log()
        #expect(failed.count == 1 && failed[0].status == .failed && failed[0].error?.contains("after 3 attempts") == true, "\(failed)")

        let flaky = ExecutionCounter()
        let recovers = CachedFunction("recovers", version: "1") { (x: Int) -> Int in
            flaky.tick()
            if flaky.value < 3 { throw Boom() }
            return x
        }
        let ref = try await fixture.client.submit(recovers, 5, options: CallOptions(retries: 5, retryDelay: .milliseconds(1)))
        #expect(try await ref.load() == 5 && flaky.value == 3)
    }

    @Test("a timed-out call records a failed commit and a later call runs again")
    func timeout() async throws {
        let fixture = try Fixture()
        let runs = ExecutionCounter()
        let sometimesSlow = CachedFunction("sometimes-slow", version: "1") { (x: Int) -> Int in
            runs.tick()
            if runs.value == 1 { try await Task.sleep(for: .seconds(60)) }
            return x + 1
        }
        let started = ContinuousClock.now
        do {
            _ = try await fixture.client.submit(sometimesSlow, 1, options: CallOptions(timeout: .milliseconds(200)))
            Issue.record("a 60 s body finished within a 200 ms limit")
        } catch {
            #expect(error.code == .timedOut && error.message.contains("recorded as commit"), "\(error)")
        }
        #expect(ContinuousClock.now - started < .seconds(30), "the caller waited for the body instead of its limit")
        let failed = try await fixture.client.log()
        #expect(failed.count == 1 && failed[0].status == .failed && failed[0].error?.contains("timed out") == true)
        let ref = try await fixture.client.submit(sometimesSlow, 1)
        let value = try await ref.load()
        #expect(!ref.wasCached && value == 2 && runs.value == 2)
        #expect(try await fixture.client.show(ref.commit.hex).parent == failed[0].hash)
    }

    @Test("a result older than its TTL runs again; force records a child commit")
    func ttlAndForce() async throws {
        let fixture = try Fixture()
        let runs = ExecutionCounter()
        let stamp = CachedFunction("stamp", version: "1") { (x: Int) -> Int in
            runs.tick()
            return x
        }
        let first = try await fixture.client.submit(stamp, 1)
        #expect(try await fixture.client.submit(stamp, 1, options: CallOptions(ttl: .seconds(3600))).wasCached)
        try await Task.sleep(for: .milliseconds(100))
        let expired = try await fixture.client.submit(stamp, 1, options: CallOptions(ttl: .milliseconds(50)))
        #expect(!expired.wasCached && runs.value == 2)
        #expect(try await fixture.client.show(expired.commit.hex).parent == first.commit)

        let forced = try await fixture.client.submit(stamp, 1, options: CallOptions(force: true))
        #expect(!forced.wasCached && runs.value == 3)
        #expect(try await fixture.client.show(forced.commit.hex).parent == expired.commit)
        #expect(try await fixture.client.submit(stamp, 1).commit == forced.commit, "the forced run is the new head")
    }

    @Test("cancelling the caller cancels the run, records nothing and leaves no lease")
    func cancellation() async throws {
        let fixture = try Fixture()
        let started = ExecutionCounter()
        let hangs = CachedFunction("hangs", version: "1") { (x: Int) -> Int in
            started.tick()
            if started.value == 1 { try await Task.sleep(for: .seconds(3600)) }
            return x
        }
        let caller = Task { try await fixture.client.submit(hangs, 1) }
        while started.value == 0 { try await Task.sleep(for: .milliseconds(5)) }
        caller.cancel()
        let result = await caller.result
        #expect((try? result.get()) == nil)
        if case .failure(let error as CashetError) = result { #expect(error.code == .cancelled, "\(error)") }
        #expect(try await fixture.client.stats().commits == 0)
        // No lease is left: the next call takes it and runs at once.
        let fingerprint = try hangs.fingerprint(1)
        let lease = try #require(try await fixture.client.store.tryLease(fingerprint))
        lease.release()
        #expect(try await fixture.client.submit(hangs, 1).load() == 1)
    }

    @Test("a caller cancelled while it waits for another task's run stops waiting; the run goes on and commits")
    func cancelledWaiter() async throws {
        let fixture = try Fixture()
        let runs = ExecutionCounter()
        let finish = ExecutionCounter()   // the run ends only once the waiter has given up, however slow the machine
        let slow = CachedFunction("slow-once", version: "1") { (x: Int) -> Int in
            runs.tick()
            while finish.value == 0 { try await Task.sleep(for: .milliseconds(5)) }
            return x
        }
        let holder = Task { try await fixture.client.submit(slow, 3).load() }
        while runs.value == 0 { try await Task.sleep(for: .milliseconds(5)) }
        let waiter = Task { try await fixture.client.submit(slow, 3) }
        try await Task.sleep(for: .milliseconds(50))
        waiter.cancel()
        let result = await waiter.result
        if case .failure(let error as CashetError) = result {
            #expect(error.code == .cancelled, "\(error)")
        } else {
            Issue.record("the cancelled waiter returned \(result)")
        }
        finish.tick()
        #expect(try await holder.value == 3)
        let commits = try await fixture.client.stats().commits
        #expect(runs.value == 1 && commits == 1)
    }

    @Test("map returns results in input order, runs duplicates once, answers hits, respects maxConcurrency")
    func map() async throws {
        let fixture = try Fixture()
        let gauge = ConcurrencyGauge()
        let runs = ExecutionCounter()
        let triple = CachedFunction("triple", version: "1") { (x: Int) -> Int in
            runs.tick()
            gauge.enter()
            defer { gauge.leave() }
            try await Task.sleep(for: .milliseconds(5))
            return x * 3
        }
        _ = try await fixture.client.submit(triple, 10)   // one hit in the map below
        let inputs = (0..<200).map { ($0 * 7919) % 100 }  // every value twice, shuffled
        let refs = try await fixture.client.map(triple, over: inputs, maxConcurrency: 4, batchSize: 16)
        var values: [Int] = []
        for ref in refs { values.append(try await ref.load()) }
        #expect(values == inputs.map { $0 * 3 })
        #expect(runs.value == 100, "100 distinct calls, one of them already cached: 99 runs plus the submit")
        #expect(gauge.peak <= 4 && gauge.peak > 1, "peak concurrency \(gauge.peak)")
        #expect(refs[inputs.firstIndex(of: 10)!].wasCached)
        #expect(try await fixture.client.stats().commits == 100)
        // Everything is a hit now.
        let again = try await fixture.client.map(triple, over: inputs)
        #expect(again.allSatisfy(\.wasCached) && runs.value == 100)
    }

    @Test("map takes functions of several arguments, ResultRef arguments among them, with the keys submit gives the same calls")
    func mapOfSeveralArguments() async throws {
        let fixture = try Fixture()
        let runs = ExecutionCounter()
        let scale = CachedFunction("scale", version: "1") { (values: [Double], factor: Double, label: String) -> String in
            runs.tick()
            return "\(label):\(values.map { $0 * factor })"
        }
        let base = try await fixture.client.submit(CachedFunction("base", version: "1") { (n: Int) in (0..<n).map(Double.init) }, 3)
        let inputs: [(ResultRef<[Double]>, Double, String)] = [(base, 2, "a"), (base, 3, "b"), (base, 2, "a")]
        let refs = try await fixture.client.map(scale, over: inputs)
        var values: [String] = []
        for ref in refs { values.append(try await ref.load()) }
        #expect(values == ["a:[0.0, 2.0, 4.0]", "b:[0.0, 3.0, 6.0]", "a:[0.0, 2.0, 4.0]"])
        #expect(runs.value == 2, "the repeated input runs once")
        // submit finds what map recorded: the same fingerprint for the same arguments.
        #expect(try await fixture.client.submit(scale, base, 3.0, "b").wasCached)
        #expect(try scale.fingerprint(base, 3.0, "b") == scale.fingerprint(base, Double(3), "b"))
        let show = try await fixture.client.show(refs[1].commit.hex)
        #expect(show.task.argumentsSnapshot == "(ResultRef(\(base.hash.hex)), 3, \"b\")")
    }

    @Test("map records failures as failed commits and throws after recording the rest")
    func mapFailures() async throws {
        let fixture = try Fixture()
        let oddFails = CachedFunction("odd-fails", version: "1") { (x: Int) -> Int in
            if x % 2 == 1 { throw Boom() }
            return x
        }
        await #expect(throws: CashetError.self) { try await fixture.client.map(oddFails, over: Array(0..<10)) }
        let stats = try await fixture.client.stats()
        #expect(stats.completed == 5 && stats.failed == 5)
        #expect(try await fixture.client.submit(oddFails, 4).wasCached)
    }
}

/// Runs an actor's jobs on one dispatch queue, which a body can recognise by its specific key.
final class QueueExecutor: SerialExecutor {
    static let key = DispatchSpecificKey<Bool>()
    let queue = DispatchQueue(label: "cashet-test-executor")
    init() { queue.setSpecific(key: Self.key, value: true) }
    static var isCurrent: Bool { DispatchQueue.getSpecific(key: key) == true }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedSerialExecutor()) }
    }
}

/// A caller isolated to a ``QueueExecutor``, as code on the main actor is to the main queue.
actor QueueIsolatedCaller {
    private let executor = QueueExecutor()
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    func submit<Output>(_ function: CachedFunction<Int, Output>, _ argument: Int, on client: Client) async throws -> Output {
        try await client.submit(function, argument).load()
    }
}

@Suite("Execution: where a body runs")
struct BodyExecutorTests {
    @Test("a synchronous body runs on the caller's executor (no hop to the pool and back); an async body on the pool")
    func synchronousBodyRunsInPlace() async throws {
        let fixture = try Fixture()
        let caller = QueueIsolatedCaller()
        let synchronous = CachedFunction("where-sync", version: "1") { (_: Int) -> Bool in QueueExecutor.isCurrent }
        let asynchronous = CachedFunction("where-async", version: "1") { (_: Int) async -> Bool in QueueExecutor.isCurrent }
        #expect(try await caller.submit(synchronous, 1, on: fixture.client), "the synchronous body left the caller's executor")
        #expect(try await !caller.submit(asynchronous, 1, on: fixture.client), "the async body ran on the caller's executor")
        // Retries and a time limit keep it: the limit's timer is a task of its own, the body is not.
        let options = CallOptions(retries: 1, timeout: .seconds(60))
        #expect(try await caller.submit(CachedFunction("where-sync-limited", version: "1", options: options) { (_: Int) -> Bool in QueueExecutor.isCurrent },
                                        2, on: fixture.client) == false,
                "a body with a time limit runs in a task of its own")
    }
}
