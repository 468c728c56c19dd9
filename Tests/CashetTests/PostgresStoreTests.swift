@testable import Cashet
import CashetPostgres
import CashetTestSupport
import Foundation
import Testing

/// A PostgreSQL store in a new database of the test process's cluster.
private func makeStore(options: String = "") async throws -> (PostgresStore, url: String, cluster: PostgresTestCluster) {
    let cluster = try await PostgresTestCluster.shared()
    let url = try await cluster.makeDatabase(options: options)
    return (try await PostgresStore(url: url), url, cluster)
}

extension HeavySuites {
@Suite("PostgresStore: the shared store against a real PostgreSQL server")
struct PostgresStoreTests {
    @Test("bodies that compute on every core without suspending, for three lease durations: the heartbeat (its own thread and connection) keeps every lease alive, so no other machine could take one over",
          .timeLimit(.minutes(2)))
    func heartbeatKeepsTimeUnderLoad() async throws {
        let (store, url, _) = try await makeStore(options: "lease_seconds=1")
        let directory = TemporaryDirectory()
        let samples = directory.child("expired")
        // Watched from another process: every cooperative thread of this one is busy.
        let watcher = Process()
        watcher.executableURL = URL(fileURLWithPath: "/bin/bash")
        let database = String(url.split(separator: "?")[0])
        let stop = directory.child("stop")
        // It stops at the stop file, or when this process is gone.
        watcher.arguments = ["-c", "while [ ! -e '\(stop)' ] && kill -0 \(getpid()); do /usr/bin/psql '\(database)' -qAtc 'SELECT count(*) FROM cashet_leases WHERE expires_at < now()' >> '\(samples)'; sleep 0.1; done"]
        watcher.standardOutput = FileHandle.nullDevice
        watcher.standardError = FileHandle.nullDevice
        try watcher.run()
        defer { _ = FileManager.default.createFile(atPath: stop, contents: nil) }
        while (try? String(contentsOfFile: samples, encoding: .utf8))?.isEmpty != false { try await Task.sleep(for: .milliseconds(20)) }

        let spin = CachedFunction("spin", version: "1") { (x: Int) -> Int in
            let end = ContinuousClock.now + .seconds(3.5)
            var state = UInt64(x)
            while ContinuousClock.now < end { state = state &* 6_364_136_223_846_793_005 &+ 1 }
            return Int(state & 1)
        }
        let client = Client(store: store)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        try await withThrowingTaskGroup(of: Void.self) { group in
            for x in 0..<cores { group.addTask { _ = try await client.submit(spin, x) } }
            try await group.waitForAll()
        }
        _ = FileManager.default.createFile(atPath: stop, contents: nil)
        while watcher.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        let counts = try String(contentsOfFile: samples, encoding: .utf8).split(separator: "\n")
        #expect(counts.count >= 10, "the watcher took \(counts.count) samples")
        #expect(counts.allSatisfy { $0 == "0" }, "a lease expired while its call was running: \(counts)")
        await store.close()
    }

    @Test("records, reads, lists and resolves like the LMDB store, with the same commit hashes")
    func sameBehaviourAsLMDB() async throws {
        let (store, _, _) = try await makeStore()
        let directory = TemporaryDirectory()
        let lmdb = try LMDBStore(directory.child("store"))
        let remote = Client(store: store), local = Client(store: lmdb)
        let scale = CachedFunction("scale", version: "1") { (x: Int, factor: Double) in Double(x) * factor }
        for x in 0..<20 {
            let a = try await remote.submit(scale, x, 1.5, tags: ["run": "r\(x % 3)"])
            let b = try await local.submit(scale, x, 1.5, tags: ["run": "r\(x % 3)"])
            #expect(a.hash == b.hash && !a.wasCached)
            #expect(try await a.load() == Double(x) * 1.5)
            #expect(try await remote.submit(scale, x, 1.5).wasCached)
        }
        // A forced re-run chains onto the head.
        let forced = try await remote.submit(scale, 3, 1.5, options: CallOptions(force: true))
        let fingerprint = try scale.fingerprint(3, 1.5)
        let history = try await store.history(of: fingerprint)
        #expect(history.count == 2 && history[1].hash == forced.commit && history[1].parent == history[0].hash)
        #expect(try await store.head(for: fingerprint)?.commit == forced.commit)

        // A commit moves between stores unchanged (same record, same hash).
        let lmdbCommit = try #require(try await lmdb.latestCommit(for: try scale.fingerprint(7, 1.5)))
        let fresh = try await makeStore().0
        #expect(try await fresh.importCommit(lmdbCommit, output: try await lmdb.blob(lmdbCommit.output!.hash)))
        #expect(try await fresh.importCommit(lmdbCommit, output: nil) == false)
        #expect(try await fresh.commit(lmdbCommit.hash) == lmdbCommit)

        let listed = try await store.commits(matching: CommitQuery(functionName: "scale", tags: ["run": "r1"]))
        #expect(listed.count == 7 && listed.allSatisfy { $0.tags["run"] == "r1" })
        #expect(zip(listed, listed.dropFirst()).allSatisfy { $0.createdAt >= $1.createdAt })
        #expect(try await store.commits(matching: CommitQuery(limit: 5)).count == 5)
        #expect(try await store.commits(matching: CommitQuery(since: Date().addingTimeInterval(60))).isEmpty)
        #expect(try await store.resolveCommit(HashPrefix(String(forced.commit.hex.prefix(10)))) == forced.commit)
        await #expect(throws: CashetError.self) { try await store.resolveCommit(HashPrefix("0000000000")) }
        let stats = try await store.stats()
        #expect(stats.commits == 21 && stats.completed == 21 && stats.functions == 1 && stats.blobs == 20)
        #expect(stats.diskBytes > 0 && stats.oldest != nil)
        let report = try await store.check(repair: false)
        #expect(report.problems.isEmpty && report.commitsChecked == 21 && report.blobsChecked == 20)
        await store.close()
        await fresh.close()
    }

    @Test("large results are compressed and chunked, read back verified; fsck finds a tampered blob and repair removes it")
    func largeBlobsAndTampering() async throws {
        let (store, url, cluster) = try await makeStore()
        let client = Client(store: store, serializer: RawBytesSerializer())
        let produce = CachedFunction("produce", version: "1") { (seed: Int, size: Int) -> [UInt8] in
            seed == 0 ? TestPayload.incompressible(size, seed: 9) : TestPayload.compressible(size, seed: UInt64(seed))
        }
        let random = try await client.submit(produce, 0, 3_500_000)
        let text = try await client.submit(produce, 1, 5_000_000)
        // Read back from the store (the refs of these misses carry the bytes they recorded).
        #expect(try await store.blob(random.hash) == TestPayload.incompressible(3_500_000, seed: 9))
        #expect(try await store.blob(text.hash) == TestPayload.compressible(5_000_000, seed: 1))
        #expect(try await cluster.sql("SELECT chunk_count FROM cashet_blobs WHERE size = 3500000", database: url) == "4")
        #expect(try await cluster.sql("SELECT encoding FROM cashet_blobs WHERE size = 5000000", database: url) == "1")  // compressed below 1 MiB: one row
        let stats = try await store.stats()
        #expect(stats.fileBlobs == 1 && stats.storedBytes < stats.logicalBytes)

        // One byte of one chunk changed behind the store's back.
        try await cluster.sql("UPDATE cashet_blob_chunks SET data = overlay(data PLACING '\\xff'::bytea FROM 100 FOR 1) WHERE index = 2", database: url)
        await #expect { try await store.blob(random.hash) } throws: { ($0 as? CashetError)?.code == .corruptData }
        let found = try await store.check(repair: false)
        #expect(found.problems.map(\.kind) == [.damagedBlob])
        let repaired = try await store.check(repair: true)
        #expect(repaired.unrepaired.isEmpty && !repaired.repairs.isEmpty)
        #expect(try await store.head(for: try produce.fingerprint(0, 3_500_000)) == nil)
        #expect(try await store.blob(text.hash).count == 5_000_000)
        // The next call runs again and stores a good copy.
        let again = try await client.submit(produce, 0, 3_500_000)
        #expect(!again.wasCached)
        #expect(try await again.load() == TestPayload.incompressible(3_500_000, seed: 9))
        #expect(try await store.check(repair: false).problems.isEmpty)
        await store.close()
    }

    @Test("a size in cashet_blobs far beyond the row's bytes (any peer can write it) is damage, exit 3: never an allocation that crashes the reader")
    func lyingSize() async throws {
        let (store, url, cluster) = try await makeStore()
        let text = CachedFunction("text", version: "1") { (n: Int) -> String in String(repeating: "row \(n);", count: 2_000) }
        let ref = try await Client(store: store).submit(text, 3)
        await store.close()
        try await cluster.sql("UPDATE cashet_blobs SET size = 1099511627776 WHERE hash = '\\x\(ref.hash.hex)'::bytea", database: url)
        let get = try await Products.runOffPool(Products.cli, ["get", ref.commit.hex, "-o", "/dev/null", "--store", url])
        #expect(get.status == 3 && get.stderr.contains(ref.hash.hex), "\(get.status) \(get.stderr)")
    }

    @Test("rm and gc restore heads, free blobs nothing references, and keep stats equal to a recount")
    func removal() async throws {
        let (store, _, _) = try await makeStore()
        let client = Client(store: store)
        let same = CachedFunction("same", version: "1") { (x: Int) in [String](repeating: "shared", count: x < 5 ? 10 : x) }
        var refs: [ResultRef<[String]>] = []
        for x in 0..<10 { refs.append(try await client.submit(same, x)) }
        let forced = try await client.submit(same, 9, options: CallOptions(force: true))
        #expect(try await store.stats().blobs == 6)   // x < 5 share one result
        // Removing the head of 9 points the head back at the first commit of 9.
        _ = try await client.rm(forced.commit.hex)
        #expect(try await store.head(for: try same.fingerprint(9))?.commit == refs[9].commit)
        // Removing one of five commits sharing a blob keeps the blob.
        let removed = try await client.rm(refs[0].commit.hex)
        #expect(removed.commitsRemoved == 1 && removed.blobsRemoved == 0)
        let dry = try await store.evict(EvictionPolicy(olderThan: Date().addingTimeInterval(3600)), dryRun: true)
        #expect(dry.commitsRemoved == 9 && dry.blobsRemoved == 6)
        #expect(try await store.stats().commits == 9)
        let sized = try await store.evict(EvictionPolicy(maxStoredBytes: 0), dryRun: false)
        #expect(sized.commitsRemoved == 9 && sized.blobsRemoved == 6)
        let stats = try await store.stats()
        #expect(stats.commits == 0 && stats.blobs == 0 && stats.functions == 0 && stats.storedBytes == 0)
        #expect(try await store.check(repair: false).problems.isEmpty)
        await store.close()
    }

    @Test("tallies changed behind the triggers' back (a restore without triggers, say) are found by fsck and recounted by --repair")
    func talliesRepaired() async throws {
        let (store, url, cluster) = try await makeStore()
        let client = Client(store: store)
        let double = CachedFunction("double", version: "1") { (x: Int) in 2 * x }
        _ = try await client.map(double, over: Array(0..<10))
        #expect(try await client.breakdown().functions == [.init(name: "double", commits: 10, bytes: 20)])
        _ = try await cluster.sql("UPDATE cashet_function_tallies SET commits = commits + 5", database: url)
        _ = try await cluster.sql("DELETE FROM cashet_day_tallies", database: url)
        #expect(try await client.fsck().problems.contains { $0.detail.contains("tallies") })
        #expect(try await client.fsck(repair: true).repairs.contains("recounted the tallies by function and by day"))
        let breakdown = try await client.breakdown()
        #expect(breakdown.functions == [.init(name: "double", commits: 10, bytes: 20)] && breakdown.days.map(\.commits) == [10])
        #expect(try await client.fsck().problems.isEmpty)
        await client.close()
    }

    @Test("a newer schema is refused; bad URLs and a wrong password fail naming the problem, never showing the password")
    func refusals() async throws {
        let (store, url, cluster) = try await makeStore()
        await store.close()
        try await cluster.sql("UPDATE cashet_meta SET value = 99 WHERE key = 'schema_version'", database: url)
        await #expect { try await PostgresStore(url: url) } throws: { ($0 as? CashetError)?.code == .newerSchema }

        for bad in ["postgresql://127.0.0.1/db", "postgresql://u:secret@host", "postgresql://u@host/db?sslmode=maybe", "postgresql://u@host/db?lease_seconds=-1"] {
            do {
                _ = try PostgresStore.Configuration(url: bad)
                Issue.record("\(bad) was accepted")
            } catch {
                #expect(error.code == .invalidArgument && !error.message.contains("secret"), "\(error)")
            }
        }
        let wrong = url.replacingOccurrences(of: cluster.password, with: "not-the-password")
        do {
            _ = try await PostgresStore(url: wrong)
            Issue.record("a wrong password was accepted")
        } catch {
            #expect(error.code == .permissionDenied, "\(error)")
            #expect(!error.description.contains("not-the-password") && error.message.contains("postgresql://cashet@127.0.0.1"))
        }
        // Nothing listens on port 1: unavailable after the retry budget, the URL shown without its password.
        do {
            _ = try await PostgresStore(url: "postgresql://cashet:hunter2@127.0.0.1:1/cashet?retry_seconds=1")
            Issue.record("an unreachable server was accepted")
        } catch {
            #expect(error.code == .unavailable && !error.description.contains("hunter2"), "\(error)")
        }
    }

    @Test("the CLI takes a postgresql:// URL as --store, with the password from PGPASSWORD, and never prints it")
    func cliOnPostgres() async throws {
        let (store, url, cluster) = try await makeStore()
        let client = Client(store: store)
        let double = CachedFunction("double", version: "1") { (x: Int) in x * 2 }
        let ref = try await client.submit(double, 21)
        await store.close()
        let bare = url.replacingOccurrences(of: ":" + cluster.password + "@", with: "@")
        let environment = ["PGPASSWORD": cluster.password]
        let stats = try await Products.runOffPool(Products.cli, ["stats", "--store", bare, "--json"], environment: environment)
        let counters = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any]
        #expect(stats.status == 0 && counters?["commits"] as? Int == 1, "\(stats.stdout)\(stats.stderr)")
        let get = try await Products.runOffPool(Products.cli, ["show", String(ref.commit.hex.prefix(8)), "--store", bare], environment: environment)
        #expect(get.status == 0 && get.stdout.contains("double"), "\(get.stderr)")
        let log = try await Products.runOffPool(Products.cli, ["log", "--store", bare], environment: environment)
        #expect(log.status == 0 && log.stdout.contains(String(ref.commit.hex.prefix(12))))
        let denied = try await Products.runOffPool(Products.cli, ["stats", "--store", bare], environment: ["PGPASSWORD": "wrong-password"])
        #expect(denied.status == 4 && denied.stderr.contains("password authentication failed"), "\(denied.stderr)")
        for output in [stats, get, log, denied] {
            #expect(!output.stdout.contains(cluster.password) && !output.stderr.contains(cluster.password))
        }
        let withPassword = try await Products.runOffPool(Products.cli, ["stats", "--store", url])
        #expect(withPassword.status == 0 && !withPassword.stdout.contains(cluster.password) && !withPassword.stderr.contains(cluster.password))
    }
}
}
