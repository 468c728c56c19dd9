import Cashet
import CashetTestSupport
import Crypto
import Foundation
import Testing

/// The schema-1 store committed in Fixtures/store-v1 (scripts/make-v1-fixture.sh): bytes an
/// earlier release wrote, with what that release's CLI answered about them. Every release must
/// read them (and, once the schema changes, migrate them) to the same answers.
@Suite("A schema-1 store written by an earlier release")
struct V1FixtureTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/store-v1").path

    /// A writable copy of the fixture (git does not keep the store's owner-only modes).
    static func copy(into directory: TemporaryDirectory) throws -> String {
        let store = directory.child("store")
        try FileManager.default.copyItem(atPath: fixture, toPath: store)
        try FileManager.default.removeItem(atPath: store + "/expected.json")
        return store
    }

    private static func expected() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture + "/expected.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    private static func json(_ text: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(text.utf8)) }

    private static func jsonLines(_ text: String) throws -> [Any] {
        try text.split(separator: "\n").map { try json(String($0)) }
    }

    /// Equal as JSON: both written again with sorted keys.
    private static func same(_ actual: Any, _ expected: Any?) -> Bool {
        guard let expected,
              let left = try? JSONSerialization.data(withJSONObject: actual, options: [.sortedKeys, .fragmentsAllowed]),
              let right = try? JSONSerialization.data(withJSONObject: expected, options: [.sortedKeys, .fragmentsAllowed]) else { return false }
        return left == right
    }

    @Test("log, show, history, stats and every result read exactly as the release that wrote them answered, before and after `cashet migrate` to schema 2",
          arguments: [false, true])
    func readsAsWritten(migrated: Bool) async throws {
        let directory = TemporaryDirectory()
        let store = try Self.copy(into: directory)
        let expected = try Self.expected()
        if migrated {
            let migrate = try Products.cashet("--store", store, "migrate", "--json")
            #expect(migrate.status == 0, "\(migrate.stderr)")
            let report = try #require(try Self.json(migrate.stdout) as? [String: Any])
            #expect(report["from_schema"] as? Int == 1 && report["commits_migrated"] as? Int == 22)
            let previous = try #require(report["previous_file"] as? String)
            #expect(previous.hasPrefix("data.mdb.v1-") && FileManager.default.fileExists(atPath: store + "/" + previous))
            let again = try Products.cashet("--store", store, "migrate")
            #expect(again.status == 0 && again.stdout.contains("already has schema 2"), "\(again.stdout)\(again.stderr)")
        }
        let log = try Products.cashet("--store", store, "log", "--json")
        #expect(log.status == 0, "\(log.stderr)")
        let commits = try Self.jsonLines(log.stdout)
        #expect(Self.same(commits, expected["log"]))
        #expect(commits.count == 22)

        let shows = try #require(expected["show"] as? [String: Any])
        let histories = try #require(expected["history"] as? [String: Any])
        let results = try #require(expected["results"] as? [String: String])
        var configuration = LMDBStore.Configuration()
        configuration.migration = .manual   // read as the test found it: schema 1, or migrated by `cashet migrate`
        let client = Client(store: try LMDBStore(store, configuration: configuration))
        for case let commit as [String: Any] in commits {
            let hash = try #require(commit["hash"] as? String)
            let show = try Products.cashet("--store", store, "show", "--json", hash)
            var shown = try #require(try Self.json(show.stdout) as? [String: Any])
            // A key added since the fixture's release: its functions recorded no manifest.
            #expect(shown["identity"] is NSNull, "show \(hash)")
            shown["identity"] = nil
            #expect(Self.same(shown, shows[hash]), "show \(hash)")
            let history = try Products.cashet("--store", store, "history", "--json", hash)
            #expect(Self.same(try Self.jsonLines(history.stdout), histories[hash]), "history \(hash)")
            if commit["output"] is NSNull {
                #expect(results[hash] == nil)
            } else {
                let bytes = try await client.get(hash)
                #expect(SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() == results[hash], "result of \(hash)")
            }
        }
        await client.close()
        let stats = try Products.cashet("--store", store, "stats", "--json")
        var counted = try #require(try Self.json(stats.stdout) as? [String: Any])
        var expectedStats = try #require(expected["stats"] as? [String: Any])
        // Keys added since the fixture's release: no calls were counted in that store.
        #expect(counted["hits"] as? Int == 0 && counted["misses"] as? Int == 0 && counted["hit_rate"] is NSNull)
        (counted["hits"], counted["misses"], counted["hit_rate"]) = (nil, nil, nil)
        if migrated {
            // A new file; small results in their rows, without the encoding byte a blob row has.
            (counted["disk_bytes"], expectedStats["disk_bytes"]) = (nil, nil)
            let (stored, storedBefore) = (try #require(counted["stored_bytes"] as? Int), try #require(expectedStats["stored_bytes"] as? Int))
            #expect(stored < storedBefore && stored >= storedBefore - 22)
            (counted["stored_bytes"], expectedStats["stored_bytes"]) = (nil, nil)
        }
        #expect(Self.same(counted, expectedStats), "\(counted)")
        let fsck = try Products.cashet("--store", store, "fsck")
        #expect(fsck.status == 0, "\(fsck.stdout)\(fsck.stderr)")
    }

    @Test("a store made before tallies: writes leave them alone, `fsck --repair` counts them once, then every write keeps them; migration counts them too")
    func talliesOfAnOlderStore() async throws {
        let directory = TemporaryDirectory()
        let store = try Self.copy(into: directory)
        /// The breakdown a recount of every commit gives.
        func recount(_ client: Client) async throws -> (functions: [String: Int], bytes: Int, commits: Int) {
            var functions: [String: Int] = [:]
            var bytes = 0
            let commits = try await client.log()
            for commit in commits {
                functions[commit.task.functionName, default: 0] += 1
                bytes += commit.output?.size ?? 0
            }
            return (functions, bytes, commits.count)
        }
        var configuration = LMDBStore.Configuration()
        configuration.migration = .manual
        var client = Client(store: try LMDBStore(store, configuration: configuration))
        #expect(try await client.breakdown() == .untracked)
        _ = try await client.submit(CachedFunction("added", version: "1") { (x: Int) in x * 2 }, 21)
        #expect(try await client.breakdown() == .untracked)
        let report = try await client.fsck(repair: true)
        #expect(report.repairs.contains { $0.hasPrefix("counted the tallies by function and by day") }, "\(report.repairs)")
        var breakdown = try await client.breakdown(days: 10_000)
        var counted = try await recount(client)
        #expect(breakdown.isTracked && counted.commits == 23)
        #expect(Dictionary(uniqueKeysWithValues: breakdown.functions.map { ($0.name, $0.commits) }) == counted.functions)
        #expect(breakdown.functions.reduce(0) { $0 + $1.bytes } == counted.bytes && breakdown.days.reduce(0) { $0 + $1.bytes } == counted.bytes)
        // A second repair finds nothing to do; a removal is tallied.
        #expect(try await client.fsck(repair: true).repairs.isEmpty)
        _ = try await client.rm(try await client.log(CommitQuery(functionName: "added"))[0].hash.hex)
        #expect(try await client.breakdown().functions.contains { $0.name == "added" } == false)
        await client.close()

        // `cashet migrate` rewrites the store, tallies included.
        let freshDirectory = TemporaryDirectory()
        let fresh = try Self.copy(into: freshDirectory)
        let migrate = try Products.cashet("--store", fresh, "migrate")
        #expect(migrate.status == 0, "\(migrate.stderr)")
        client = Client(store: try LMDBStore(fresh, configuration: configuration))
        breakdown = try await client.breakdown(days: 10_000)
        counted = try await recount(client)
        #expect(breakdown.isTracked && breakdown.functions.reduce(0) { $0 + $1.commits } == counted.commits && breakdown.days.reduce(0) { $0 + $1.bytes } == counted.bytes)
        await client.close()
    }

    @Test("the fixture holds what migration must carry: re-runs, a failure, Unicode tags, file results raw and zstd, a shared result, an import, a removed commit")
    func coversEveryKindOfRecord() throws {
        let expected = try Self.expected()
        let log = try #require(expected["log"] as? [[String: Any]])
        let byFunction = Dictionary(grouping: log) { $0["function"] as? String ?? "" }
        #expect(byFunction["square"]?.count == 9, "6 calls, 2 re-runs of square(2), 1 imported; square(99) removed")
        #expect(log.contains { $0["status"] as? String == "failed" && $0["error"] is String })
        #expect(log.contains { ($0["tags"] as? [String: String])?["κλειδί"] == "値" })
        #expect(log.contains { ($0["tags"] as? [String: String])?["origin"] == "imported" })
        #expect(log.contains { $0["cached"] as? Bool == false })
        let sharedOutputs = Set((byFunction["shared"] ?? []).compactMap { ($0["output"] as? [String: Any])?["hash"] as? String })
        #expect(sharedOutputs.count == 1 && byFunction["shared"]?.count == 3)
        let histories = try #require(expected["history"] as? [String: [Any]])
        #expect(histories.values.contains { $0.count == 3 }, "square(2): a head with two parents")
        let stats = try #require(expected["stats"] as? [String: Any])
        #expect(stats["file_blobs"] as? Int == 2)
        #expect(stats["blobs"] as? Int == 17, "16 results (one shared by 3 commits) and 1 blob put on its own")
        let objects = try FileManager.default.subpathsOfDirectory(atPath: Self.fixture + "/objects").filter { $0.count > 60 }
        #expect(objects.count == 2)
    }
}
