@testable import Cashet
import CashetTestSupport
import Foundation
import Testing

@Suite("LMDBStore: storage, deletion, eviction, counters")
struct LMDBStoreTests {
    @Test("a cache hit leaves data.mdb byte-for-byte untouched")
    func hitDoesNotWrite() async throws {
        let fixture = try Fixture()
        let square = CachedFunction("square", version: "1") { (x: Int) in x * x }
        _ = try await fixture.client.submit(square, 9)
        _ = try await fixture.client.stats()   // applies the journal: the commit is in data.mdb
        let dataFile = fixture.storePath + "/data.mdb"
        let before = try fileDigest(dataFile)
        let modified = try FileManager.default.attributesOfItem(atPath: dataFile)[.modificationDate] as? Date
        for _ in 0..<100 {
            let ref = try await fixture.client.submit(square, 9)
            #expect(ref.wasCached)
            #expect(try await ref.load() == 81)
        }
        _ = try await fixture.client.log()
        _ = try await fixture.client.stats()
        #expect(try fileDigest(dataFile) == before)
        #expect(try FileManager.default.attributesOfItem(atPath: dataFile)[.modificationDate] as? Date == modified)
    }

    @Test("a hit reads a result of up to 4 KiB with its head, from the journal and from LMDB; larger ones and files load on their own; the ref then loads without the store")
    func hitPreloadsSmallResults() async throws {
        let directory = TemporaryDirectory()
        var configuration = LMDBStore.Configuration()
        configuration.fileThreshold = 64 << 10
        let store = try LMDBStore(directory.child("store"), configuration: configuration)
        let client = Client(store: store, serializer: RawBytesSerializer())
        let sized = CachedFunction("sized", version: "1") { (size: Int) in (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ size) } }
        let sizes = [0, 100, LMDBStore.preloadLimit, LMDBStore.preloadLimit + 1, 100_000]
        for size in sizes { _ = try await client.submit(sized, size) }
        for applied in [false, true] {
            if applied { _ = try await client.stats() }   // applies the journal
            for size in sizes {
                let fingerprint = try sized.fingerprint(size)
                let hit = try #require(try await store.headAndOutput(for: fingerprint))
                #expect(hit.head == (try await store.head(for: fingerprint)))
                let expected = try await store.blob(hit.head.output!.hash)
                #expect(hit.output == (size <= LMDBStore.preloadLimit ? expected : nil), "size \(size), applied \(applied)")
            }
        }
        // What a hit preloaded loads after its commit and blob are gone; a larger result is asked for, and is gone.
        let small = try await client.submit(sized, 100), large = try await client.submit(sized, LMDBStore.preloadLimit + 1)
        #expect(small.wasCached && large.wasCached)
        for ref in [small, large] { _ = try await client.rm(ref.commit.hex) }   // and their blobs, referenced by nothing else
        #expect(try await small.load() == (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 100) })
        await #expect(throws: CashetError.self) { _ = try await large.load() }
    }

    @Test("identical outputs are stored once and counted once")
    func deduplication() async throws {
        let fixture = try Fixture()
        let constant = CachedFunction("constant", version: "1") { (x: Int) in [String](repeating: "same output", count: 200) }
        let a = try await fixture.client.submit(constant, 1)
        let b = try await fixture.client.submit(constant, 2)
        #expect(a.hash == b.hash && a.commit != b.commit)
        let stats = try await fixture.client.stats()
        #expect(stats.commits == 2 && stats.blobs == 1)
        #expect(stats.logicalBytes == a.size)
        #expect(stats.storedBytes < stats.logicalBytes)  // 2.4 KB of repetition compresses
    }

    @Test("rm removes the commit, repairs the head, and frees the blob only when unreferenced")
    func rmRemovesExactly() async throws {
        let fixture = try Fixture()
        let constant = CachedFunction("constant", version: "1") { (x: Int) in "shared" }
        let other = CachedFunction("other", version: "1") { (x: Int) in "mine \(x)" }
        let first = try await fixture.client.submit(constant, 1, cache: false)
        let second = try await fixture.client.submit(constant, 1, cache: false)
        let sibling = try await fixture.client.submit(constant, 2)
        let kept = try await fixture.client.submit(other, 1)

        // Removing the head falls back to its parent; the blob is still referenced.
        var report = try await fixture.client.rm(second.commit.hex)
        #expect(report == EvictionReport(commitsRemoved: 1, blobsRemoved: 0, bytesFreed: 0))
        let again = try await fixture.client.submit(constant, 1)
        #expect(again.wasCached && again.commit == first.commit)
        #expect(try await fixture.client.history(first.commit.hex).map(\.hash) == [first.commit])

        report = try await fixture.client.rm(first.commit.hex)
        #expect(report.blobsRemoved == 0)  // `sibling` still references "shared"
        report = try await fixture.client.rm(sibling.commit.hex)
        #expect(report.blobsRemoved == 1 && report.bytesFreed == sibling.size)

        let error = await #expect(throws: CashetError.self) { try await fixture.client.show(first.commit.hex) }
        #expect(error?.code == .notFound)
        #expect(try await fixture.client.log().map(\.hash) == [kept.commit])
        #expect(try await kept.load() == "mine 1")
        let stats = try await fixture.client.stats()
        #expect(stats.commits == 1 && stats.blobs == 1 && stats.functions == 1 && stats.completed == 1)
        // A removed call runs again.
        let rerun = try await fixture.client.submit(constant, 2)
        #expect(!rerun.wasCached)
    }

    @Test("gc removes commits older than the cutoff and their unreferenced blobs, nothing else")
    func gcRemovesOld() async throws {
        let fixture = try Fixture()
        let store = fixture.client.store
        let functionHash = FunctionIdentity(name: "old", version: "1").hash
        func draft(_ n: Int, daysAgo: Double) -> CommitDraft {
            let fingerprint = Fingerprint(functionHash: functionHash, argumentsHash: SHA256Hasher.hash([UInt8(n)]))
            return CommitDraft(fingerprint: fingerprint, task: TaskDefinition(functionName: "old", functionHash: functionHash, argumentsSnapshot: "(\(n))"),
                               status: .completed, createdAt: Date().addingTimeInterval(-daysAgo * 86_400))
        }
        let ancient = try await store.record(draft(1, daysAgo: 40), output: Array("ancient".utf8))
        let sharedOld = try await store.record(draft(2, daysAgo: 35), output: Array("shared".utf8))
        let sharedNew = try await store.record(draft(3, daysAgo: 1), output: Array("shared".utf8))
        let fresh = try await store.record(draft(4, daysAgo: 0), output: Array("fresh".utf8))
        let orphan = try await store.putBlob(Array("orphan".utf8))

        let report = try await fixture.client.gc(olderThanDays: 30)
        #expect(report.commitsRemoved == 2)
        #expect(report.blobsRemoved == 2)  // "ancient" and the orphan; "shared" is still referenced
        #expect(report.bytesFreed == "ancient".utf8.count + "orphan".utf8.count)
        #expect(try await store.commit(ancient.hash) == nil)
        #expect(try await store.commit(sharedOld.hash) == nil)
        #expect(try await store.commit(sharedNew.hash) != nil)
        #expect(try await store.commit(fresh.hash) != nil)
        #expect(try await store.blob(sharedNew.output!.hash) == Array("shared".utf8))
        let missing = await #expect(throws: CashetError.self) { try await store.blob(orphan.hash) }
        #expect(missing?.code == .notFound)
        let stats = try await fixture.client.stats()
        #expect(stats.commits == 2 && stats.blobs == 2)
        #expect(stats.logicalBytes == "shared".utf8.count + "fresh".utf8.count)
        #expect(try await fixture.client.gc(olderThanDays: 30) == EvictionReport())
    }

    @Test("stats counters match a full count after many writes and deletes")
    func countersStayExact() async throws {
        let fixture = try Fixture()
        let mod = CachedFunction("mod", version: "1") { (x: Int) -> Int in
            if x % 7 == 0 { throw CashetError(.invalidArgument, "multiple of seven") }
            return x % 10
        }
        var refs: [ResultRef<Int>] = []
        for x in 1...60 {
            if let ref = try? await fixture.client.submit(mod, x) { refs.append(ref) }
        }
        for ref in refs.prefix(15) { _ = try await fixture.client.rm(ref.commit.hex) }
        let stats = try await fixture.client.stats()
        let all = try await fixture.client.log()
        #expect(stats.commits == all.count)
        #expect(stats.failed == all.filter { $0.status == .failed }.count && stats.failed == 8)
        #expect(stats.completed == all.filter { $0.status == .completed }.count)
        let liveBlobs = Set(all.compactMap(\.output?.hash))
        #expect(stats.blobs == liveBlobs.count)
        #expect(stats.oldest == all.last?.createdAt && stats.newest == all.first?.createdAt)
    }

    @Test("the memory map grows by itself when full")
    func mapGrows() async throws {
        let directory = TemporaryDirectory()
        var configuration = LMDBStore.Configuration()
        configuration.initialMapSize = 1 << 20
        configuration.durability = .noSync
        let store = try LMDBStore(directory.child("store"), configuration: configuration)
        let client = Client(store: store, serializer: RawBytesSerializer())
        let blob = CachedFunction("blob", version: "1") { (seed: Int) -> [UInt8] in
            var state = UInt64(seed + 1)
            return (0..<20_000).map { _ in state = state &* 6364136223846793005 &+ 1442695040888963407; return UInt8(truncatingIfNeeded: state >> 33) }
        }
        var refs: [ResultRef<[UInt8]>] = []
        for seed in 0..<200 { refs.append(try await client.submit(blob, seed)) }  // ~4 MB of incompressible data
        #expect(store.env.mapSize > 1 << 20)
        #expect(try await refs[0].load().count == 20_000)
        #expect(try await client.stats().blobs == 200)
    }

    @Test("a read transaction kept for reuse outlives another process growing the map past this one's: the next read adopts the new size and sees that process's commits")
    func keptReadAfterAnotherProcessGrewTheMap() async throws {
        let directory = TemporaryDirectory()
        let path = directory.child("store")
        var configuration = LMDBStore.Configuration()
        configuration.initialMapSize = 1 << 20
        let store = try LMDBStore(path, configuration: configuration)
        let client = Client(store: store)
        let square = CachedFunction("square", version: "1") { (x: Int) in x * x }
        _ = try await client.submit(square, 3)
        _ = try await client.stats()   // applies the journal, then reads: transactions are kept for reuse
        #expect(try await client.log().count == 1)
        #expect(store.env.mapSize == 1 << 20)

        // Another process (with the default, larger map) writes until data.mdb reaches 4 MiB.
        let fill = try Products.run(Products.helper, ["fill", path, "\(4 << 20)", "98304"])
        #expect(fill.status == 0, "\(fill.stderr)")
        let stored = fill.stdout.split(separator: "\n").filter { $0.hasPrefix("stored ") }.count
        #expect(stored >= 5, "\(fill.stdout)")   // 96 KiB, 192 KiB, …: past this process's 1 MiB map

        let commits = try await client.log()
        #expect(commits.count == stored + 1)
        #expect(store.env.mapSize > 1 << 20)
        #expect(try await client.submit(square, 3).wasCached)
    }
}
