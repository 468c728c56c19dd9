@testable import Cashet
import CashetTestSupport
import Foundation
import Synchronization
import Testing

@Suite("The objects lock: waits off the cooperative pool, and writers of one blob agree")
struct ObjectsLockTests {
    @Test("while another process holds the objects lock (a long fsck), writers waiting for it leave the cooperative pool free: timers and other tasks go on",
          .timeLimit(.minutes(2)))
    func waitingWritersDoNotBlockThePool() async throws {
        let fixture = try LargeBlobFixture()
        _ = try await fixture.client.submit(LargeBlobFixture.payload, 0, 100_000, false)   // objects/lock exists
        // The lock taken through a descriptor of our own (flock locks belong to the open file, so
        // the store's own descriptor has to wait for it, as another process's would).
        let holder = open(fixture.storePath + "/objects/lock", O_RDWR | O_CLOEXEC)
        #expect(holder >= 0 && flock(holder, LOCK_EX) == 0)
        let released = Atomic<Bool>(false)
        // A watchdog, so that code that does block the pool fails this test instead of hanging it.
        Thread {
            Thread.sleep(forTimeInterval: 30)
            if !released.exchange(true, ordering: .sequentiallyConsistent) { close(holder) }
        }.start()

        // More waiting writers than the pool has threads.
        let writers = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for seed in 1...8 { group.addTask { _ = try await fixture.client.submit(LargeBlobFixture.payload, seed, 100_000, false) } }
                try await group.waitForAll()
            }
        }
        try await Task.sleep(for: .milliseconds(500))   // a timer on the pool
        let watchdogFired = released.exchange(true, ordering: .sequentiallyConsistent)
        #expect(!watchdogFired, "the pool was blocked until the watchdog released the lock")
        close(holder)
        try await writers.value
        #expect(try await fixture.client.stats().commits == 9)
    }

    @Test("two writers of one large blob with different compression settings: the second never replaces the file the first one's record describes")
    func secondWriterKeepsTheFirstFile() async throws {
        let fixture = try LargeBlobFixture()
        var other = LMDBStore.Configuration()
        other.fileThreshold = 64 << 10
        other.compressionLevel = 19
        let second = try LMDBStore(fixture.storePath, configuration: other)
        let bytes = TestPayload.compressible(400_000, seed: 9)
        // The second writer prepares its file first (level 19), then the first records its own (level 3).
        let prepared = try await second.prepareBlob(bytes, reuse: false)
        _ = try await fixture.store.putBlob(bytes)
        _ = try await second.writing(prepared: [prepared], of: [bytes], "storing a blob") { txn, blobs, state in
            try second.retainBlob(blobs[0]!, references: 0, txn, &state)
        }
        let hash = SHA256Hasher.hash(bytes)
        let info = try fixture.store.reading("reading a blob record") { txn in try StoreRecords.BlobInfo(try #require(try txn.get(fixture.store.tables.blobInfo, hash.bytes))) }
        let onDisk = try FileManager.default.attributesOfItem(atPath: fixture.store.files.path(of: hash))[.size] as? Int
        #expect(onDisk == info.storedSize, "the record describes a \(info.storedSize)-byte file, but \(onDisk ?? -1) bytes are there")
        #expect(try await fixture.store.blob(hash) == bytes)
        #expect(try await fixture.client.fsck().problems.isEmpty)
    }
}
