@testable import Cashet
import CashetTestSupport
import Foundation
import Testing

@Suite("Tallies by function and by day: stale ones are never shown as true, and fsck --repair recounts them")
struct TallyTests {
    @Test("commits written by a release that keeps no tallies (simulated: written while the marker was away) leave them behind: breakdown reports them untracked, fsck reports them wrong, --repair recounts")
    func staleTalliesAreNotShown() async throws {
        let directory = TemporaryDirectory()
        let path = directory.child("store")
        let double = CachedFunction("double", version: "1") { (x: Int) in 2 * x }
        var client = Client(store: try LMDBStore(path))
        _ = try await client.map(double, over: Array(0..<10))
        #expect(try await client.breakdown().functions == [.init(name: "double", commits: 10, bytes: 20)])
        await client.close()

        // What an earlier release does: it adds commits and counts them, without tallies.
        var store = try LMDBStore(path)
        try store.writing("taking the marker away") { txn in _ = try txn.delete(store.tables.meta, LMDBStore.tallyMarkerKey) }
        client = Client(store: store)
        _ = try await client.map(double, over: Array(10..<13))
        await client.close()
        store = try LMDBStore(path)
        try store.writing("putting the marker back") { txn in _ = try txn.put(store.tables.meta, LMDBStore.tallyMarkerKey, [1]) }
        client = Client(store: store)

        #expect(try await client.breakdown() == .untracked)
        let check = try await client.fsck()
        #expect(check.problems.contains { $0.kind == .wrongCounters && $0.detail.contains("tallies") }, "\(check.problems)")
        let repair = try await client.fsck(repair: true)
        #expect(repair.repairs.contains("recounted the tallies by function and by day"), "\(repair.repairs)")
        let breakdown = try await client.breakdown()
        #expect(breakdown.isTracked && breakdown.functions.map(\.commits) == [13])
        #expect(try await client.fsck().problems.isEmpty)
        await client.close()
    }
}
