@testable import Cashet
import CashetTestSupport
import Foundation
import Testing

@Suite("gc --max-size: least recently used first, dry run")
struct GCSizeTests {
    /// Ten commits of 4 KiB incompressible results, created in order; returns them oldest first.
    static func tenCommits(_ fixture: LargeBlobFixture) async throws -> [ResultRef<[UInt8]>] {
        var refs: [ResultRef<[UInt8]>] = []
        for seed in 0..<10 {
            refs.append(try await fixture.client.submit(LargeBlobFixture.payload, seed, 4096, false))
        }
        return refs
    }

    @Test("hits move commits to the back of the eviction order; the dry run predicts exactly what the real run removes")
    func leastRecentlyUsedFirst() async throws {
        let fixture = try LargeBlobFixture()
        let refs = try await Self.tenCommits(fixture)
        // Hits on the two oldest: they become the most recently used.
        for seed in 0..<2 { #expect(try await fixture.client.submit(LargeBlobFixture.payload, seed, 4096, false).wasCached) }
        await fixture.client.close()   // writes the pending hit times

        let stats = try await fixture.client.stats()
        let perBlob = stats.storedBytes / 10
        let limit = perBlob * 5   // room for five of the ten
        let dry = try Products.cashet("gc", "--max-size", "\(limit)", "--dry-run", "--json", "--store", fixture.storePath)
        #expect(dry.status == 0, "\(dry.stderr)")
        let predicted = try #require(try JSONSerialization.jsonObject(with: Data(dry.stdout.utf8)) as? [String: Any])
        #expect(predicted["commits_removed"] as? Int == 5 && predicted["dry_run"] as? Bool == true, "\(dry.stdout)")
        #expect(try await fixture.client.stats() == stats, "a dry run changes nothing")

        let real = try Products.cashet("gc", "--max-size", "\(limit)", "--json", "--store", fixture.storePath)
        #expect(real.status == 0, "\(real.stderr)")
        var removed = try #require(try JSONSerialization.jsonObject(with: Data(real.stdout.utf8)) as? [String: Any])
        removed["dry_run"] = true
        #expect(NSDictionary(dictionary: removed) == NSDictionary(dictionary: predicted), "\(real.stdout) vs \(dry.stdout)")

        // Kept: the two hit (oldest created, most recently used) and the three newest.
        var kept: [Int] = []
        for (seed, ref) in refs.enumerated() where try await fixture.store.commit(ref.commit) != nil { kept.append(seed) }
        #expect(kept == [0, 1, 7, 8, 9])
        let after = try await fixture.client.stats()
        #expect(after.storedBytes <= limit && after.blobs == 5 && after.commits == 5)
    }

    @Test("gc of everything empties every table in one transaction: the report is the dry run's, counts are zero, no result file is left, fsck is clean, the store records again; a plan that keeps one commit goes commit by commit",
          arguments: ["size 0", "age", "keep one"])
    func gcOfEverything(policyKind: String) async throws {
        let everything = policyKind != "keep one"
        let fixture = try LargeBlobFixture()
        var refs: [ResultRef<[UInt8]>] = []
        for seed in 0..<30 {   // inline and file results (the fixture's file threshold is 64 KiB)
            let size = seed % 10 == 0 ? 100_000 : 500 + seed
            refs.append(try await fixture.client.submit(LargeBlobFixture.payload, seed, size, seed % 3 == 0, tags: ["seed": "\(seed)"]))
        }
        _ = try await fixture.client.submit(LargeBlobFixture.payload, 1, 501, false, options: CallOptions(force: true))   // history
        _ = try await fixture.store.putBlob(Array(repeating: 7, count: 300))   // a blob no commit references
        #expect(try fixture.objectFiles().count >= 3)
        let kept = everything ? nil : refs[5]
        if kept != nil { _ = try await fixture.client.submit(LargeBlobFixture.payload, 5, 505, false) }   // a hit: the most recently used
        await fixture.client.close()   // writes the hit time
        let stats = try await fixture.client.stats()
        // Room for nothing, or for the one result hit last; or everything older than a minute
        // from now (emptied without reading a commit).
        let policy = policyKind == "age" ? EvictionPolicy(olderThan: Date().addingTimeInterval(60)) : EvictionPolicy(maxStoredBytes: everything ? 0 : 600)

        let dry = try await fixture.client.gc(policy, dryRun: true)
        let real = try await fixture.client.gc(policy, dryRun: false)
        #expect(real == dry, "\(real) vs \(dry)")
        let after = try await fixture.client.stats()
        if everything {
            #expect(real.commitsRemoved == stats.commits && real.blobsRemoved == stats.blobs && real.storedBytesFreed == stats.storedBytes)
            #expect(after.commits == 0 && after.completed == 0 && after.functions == 0 && after.blobs == 0 && after.fileBlobs == 0)
            #expect(after.logicalBytes == 0 && after.storedBytes == 0 && after.oldest == nil)
            #expect(try fixture.objectFiles().isEmpty)
            #expect(try await fixture.client.log().isEmpty)
        } else {
            #expect(after.commits == 1)
            #expect(try await fixture.client.log().map(\.hash) == [kept?.commit])
        }
        #expect(try await fixture.client.fsck().problems.isEmpty)
        let again = try await fixture.client.submit(LargeBlobFixture.payload, 3, 503, false)
        let loaded = try await again.load()
        #expect(!again.wasCached && loaded.count == 503)
        #expect(try await fixture.client.fsck().problems.isEmpty)
    }

    @Test("gc by age empties the store at once only when its newest commit is older than the cutoff; a newer one keeps it commit by commit")
    func ageCutoffBeforeTheNewestCommit() async throws {
        let directory = TemporaryDirectory()
        let store = try LMDBStore(directory.child("store"))
        let client = Client(store: store)
        let square = CachedFunction("square", version: "1") { (x: Int) in x * x }
        _ = try await client.map(square, over: Array(0..<20))
        let task = TaskDefinition(functionName: "later", functionHash: square.identity.hash, functionVersion: "1", argumentsSnapshot: "(99)")
        let later = try await store.record(CommitDraft(fingerprint: try square.fingerprint(99), task: task, status: .completed,
                                                       createdAt: Date().addingTimeInterval(3_600)), output: [1, 2, 3])
        let report = try await client.gc(EvictionPolicy(olderThan: Date().addingTimeInterval(60)))
        #expect(report.commitsRemoved == 20)
        #expect(try await client.log().map(\.hash) == [later.hash])
        #expect(try await client.gc(EvictionPolicy(olderThan: Date().addingTimeInterval(7_200))).commitsRemoved == 1)
        #expect(try await client.stats().commits == 0)
        #expect(try await client.fsck().problems.isEmpty)
        await client.close()
    }

    @Test("a blob shared with a kept commit is not counted as freed")
    func sharedBlobs() async throws {
        let fixture = try LargeBlobFixture()
        let shared = CachedFunction("shared", version: "1") { (_: Int) -> [UInt8] in TestPayload.incompressible(4096, seed: 99) }
        for n in 0..<4 { _ = try await fixture.client.submit(shared, n) }   // four commits, one blob
        let report = try await fixture.client.gc(EvictionPolicy(maxStoredBytes: 0), dryRun: true)
        let stored = try await fixture.client.stats().storedBytes
        #expect(report.commitsRemoved == 4 && report.blobsRemoved == 1 && report.storedBytesFreed == stored)
        let none = try await fixture.client.gc(EvictionPolicy(maxStoredBytes: 1 << 30), dryRun: true)
        #expect(none == EvictionReport())
    }

    @Test("hit times survive a restart only once written; a read-only store never writes them")
    func hitTimesAreBatched() async throws {
        let fixture = try LargeBlobFixture()
        let refs = try await Self.tenCommits(fixture)
        #expect(try await fixture.client.submit(LargeBlobFixture.payload, 0, 4096, false).wasCached)
        let access = try #require(fixture.store.tables.access)
        let recorded = { () throws -> Int in try fixture.store.env.read { txn in try txn.count(access) } }
        #expect(try recorded() == 0, "a hit does not write")
        await fixture.client.close()
        #expect(try recorded() == 1)
        // The row goes with its commit.
        _ = try await fixture.client.rm(refs[0].commit.hex)
        #expect(try recorded() == 0)
    }

    @Test("sizes: bytes, binary and decimal units; bad sizes are usage errors naming the text")
    func sizes() async throws {
        let fixture = try LargeBlobFixture()
        _ = try await Self.tenCommits(fixture)
        for good in ["0", "500K", "1.5MiB", "2GB", "10 M"] {
            let result = try Products.cashet("gc", "--max-size", good, "--dry-run", "--store", fixture.storePath)
            #expect(result.status == 0, "\(good): \(result.stderr)")
        }
        for bad in ["", "ten", "5X", "-1M", "1e99T"] {
            let result = try Products.cashet("gc", "--max-size=\(bad)", "--store", fixture.storePath)
            #expect(result.status == 2 && (bad.isEmpty || result.stderr.contains("'\(bad)' is not a size")), "\(bad): \(result.stderr)")
            // Checked before the store is opened: a usage error even without a store.
            let noStore = try Products.cashet("gc", "--max-size=\(bad)", "--store", fixture.directory.child("missing"))
            #expect(noStore.status == 2, "\(bad): \(noStore.stderr)")
        }
        #expect(try await fixture.client.stats().commits == 10, "no bad size removed anything")
    }

    @Test("gc --older-than takes the ages and dates log --since takes, and a bare number as days; client.gc() keeps 30 days")
    func olderThanAges() async throws {
        let fixture = try Fixture()
        let square = CachedFunction("square", version: "1") { (x: Int) in x * x }
        for x in 0..<3 { _ = try await fixture.client.submit(square, x) }
        func removed(_ olderThan: String) throws -> Int? {
            let result = try Products.cashet("gc", "--older-than", olderThan, "--dry-run", "--json", "--store", fixture.storePath)
            #expect(result.status == 0, "\(olderThan): \(result.stderr)")
            return (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])?["commits_removed"] as? Int
        }
        #expect(try removed("7d") == 0 && removed("30") == 0 && removed("2020-01-01") == 0)
        #expect(try removed("0s") == 3 && removed("0") == 3 && removed("2999-01-01") == 3)
        let bad = try Products.cashet("gc", "--older-than", "soon", "--store", fixture.storePath)
        #expect(bad.status == 2 && bad.stderr.contains("--older-than 'soon' is not a date"), "\(bad.stderr)")
        #expect(try await fixture.client.gc().commitsRemoved == 0)
        #expect(try await fixture.client.stats().commits == 3)
    }
}
