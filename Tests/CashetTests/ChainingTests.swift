import Cashet
import CashetTestSupport
import Foundation
import Testing

@Suite("ResultRef chaining and early cutoff")
struct ChainingTests {
    @Test("only steps downstream of a changed output re-run; an unchanged output stops the chain")
    func earlyCutoff() async throws {
        let fixture = try Fixture()
        let loads = ExecutionCounter(), normalizes = ExecutionCounter(), sums = ExecutionCounter()
        // `source` names where the data came from but does not change it.
        let load = CachedFunction("load", version: "1") { (size: Int, source: String) -> [Int] in loads.tick(); return Array(0..<size) }
        let parity = CachedFunction("parity", version: "1") { (data: [Int]) -> [Int] in normalizes.tick(); return data.map { $0 % 2 } }
        let total = CachedFunction("total", version: "1") { (bits: [Int]) -> Int in sums.tick(); return bits.reduce(0, +) }

        func pipeline(_ size: Int, _ source: String) async throws -> Int {
            let raw = try await fixture.client.submit(load, size, source)
            let bits = try await fixture.client.submit(parity, raw)
            return try await fixture.client.submit(total, bits).load()
        }

        #expect(try await pipeline(10, "a.csv") == 5)
        #expect((loads.value, normalizes.value, sums.value) == (1, 1, 1))
        #expect(try await pipeline(10, "a.csv") == 5)
        #expect((loads.value, normalizes.value, sums.value) == (1, 1, 1))
        // Upstream re-runs (new argument) but produces identical bytes: downstream stays cached.
        #expect(try await pipeline(10, "b.csv") == 5)
        #expect((loads.value, normalizes.value, sums.value) == (2, 1, 1))
        // Upstream output changes: everything downstream re-runs.
        #expect(try await pipeline(12, "a.csv") == 6)
        #expect((loads.value, normalizes.value, sums.value) == (3, 2, 2))
    }

    @Test("a ResultRef argument is resolved to its value and recorded by blob hash")
    func resolution() async throws {
        let fixture = try Fixture()
        let make = CachedFunction("make", version: "1") { (n: Int) in ["n": n] }
        let read = CachedFunction("read", version: "1") { (m: [String: Int]) in m["n"] ?? -1 }
        let made = try await fixture.client.submit(make, 41)
        let read1 = try await fixture.client.submit(read, made)
        #expect(try await read1.load() == 41)
        let commit = try await fixture.client.show(read1.commit.hex)
        #expect(commit.task.argumentsSnapshot == "(ResultRef(\(made.hash.hex)))")
        // Passing the plain value instead of the ref is a different key (value vs blob identity).
        let read2 = try await fixture.client.submit(read, ["n": 41])
        #expect(!read2.wasCached)
    }
}
