@testable import Cashet
import CashetTestSupport
import Foundation
import Testing

@Suite("map releases every lease it takes")
struct MapLeaseTests {
    /// 48 KiB that do not compress, after a short wait (so many calls are running at any moment).
    static let slowBlock = CachedFunction("slow-block", version: "1") { (seed: Int) -> [UInt8] in
        try await Task.sleep(for: .milliseconds(15))
        return TestPayload.incompressible(48 << 10, seed: UInt64(seed))
    }

    @Test("a group commit that fails (the map limit) ends map with the error, and every lease it took is free again: no later call of those inputs waits")
    func failedBatchReleasesLeases() async throws {
        let directory = TemporaryDirectory()
        var configuration = LMDBStore.Configuration()
        configuration.initialMapSize = 1 << 20
        configuration.maxMapSize = 1 << 20   // the first batches fit, a later one does not
        configuration.durability = .durable  // each batch its own transaction (the journal's flush failing is JournalTests')
        let store = try LMDBStore(directory.child("store"), configuration: configuration)
        let client = Client(store: store, serializer: RawBytesSerializer())
        let inputs = Array(0..<96)
        let error = await #expect(throws: CashetError.self) {
            _ = try await client.map(Self.slowBlock, over: inputs, maxConcurrency: 8, batchSize: 4, flushInterval: .milliseconds(5))
        }
        #expect(error?.code == .outOfSpace, "\(String(describing: error))")
        var held: [Int] = []
        for input in inputs {
            if let lease = try await store.tryLease(try Self.slowBlock.fingerprint(input)) { lease.release() } else { held.append(input) }
        }
        #expect(held.isEmpty, "leases still held after map returned: \(held)")
    }
}
