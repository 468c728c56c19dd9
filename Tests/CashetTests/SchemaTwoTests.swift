@testable import Cashet
import CashetTestSupport
import Foundation
import Testing

/// Schema 2's own tables (`calls`, `superseded`, `ids`, `results`): what they hold, what fsck
/// finds when they are damaged, and migration killed at random moments.
@Suite("Schema 2: a row per call, found by fsck when damaged, migrated crash-safely")
struct SchemaTwoTests {
    static let triple = CachedFunction("triple", version: "1") { (x: Int) -> Int in 3 * x }
    static let wide = CachedFunction("wide", version: "1") { (x: Int) -> [Int] in Array(repeating: x * 1_000_003, count: 100) }

    static func configuration(_ schema: LMDBStore.Schema) -> LMDBStore.Configuration {
        var configuration = LMDBStore.Configuration()
        configuration.schema = schema
        configuration.durability = .durable
        return configuration
    }

    static func layout(_ store: LMDBStore) throws -> V2CommitLayout {
        try #require(store.tables.layout as? V2CommitLayout)
    }

    /// A new schema-2 store at `path` holding `triple(x)` for x in 0..<count, closed again.
    static func storeOfTriples(_ path: String, count: Int) async throws -> [ResultRef<Int>] {
        let client = Client(store: try LMDBStore(path, configuration: configuration(.v2)))
        var refs: [ResultRef<Int>] = []
        for x in 0..<count { refs.append(try await client.submit(triple, x)) }
        await client.close()
        return refs
    }

    /// Changes a closed store's rows in one write transaction, as damage on disk would.
    static func damage(_ path: String, _ change: (LMDBTransaction, V2CommitLayout) throws -> Void) async throws {
        let store = try LMDBStore(path)
        let layout = try Self.layout(store)
        try store.writing("damaging rows") { txn in try change(txn, layout) }
        await store.close()
    }

    @Test("the same calls give the same results, lineage, log, history and stats in both schemas (commit hashes differ: they cover the time); small results live in their rows, large ones in blobs")
    func sameAnswersAsSchemaOne() async throws {
        let directory = TemporaryDirectory()
        var answers: [LMDBStore.Schema: [String]] = [:]
        for schema in LMDBStore.Schema.allCases {
            let store = try LMDBStore(directory.child("store-\(schema.rawValue)"), configuration: Self.configuration(schema))
            let client = Client(store: store)
            var lines: [String] = []
            var threes: [ContentHash] = []
            var names: [ContentHash: Int] = [:]   // commit hash → the call that made it
            func name(_ hash: ContentHash?) -> String { hash.map { names[$0].map(String.init) ?? "?" } ?? "-" }
            for x in 0..<20 {
                let ref = try await client.submit(Self.triple, x % 7, cache: x < 7 ? true : false, tags: ["round": "\(x / 7)"])
                names[ref.commit] = x
                lines.append("\(x) \(ref.hash.hex) \(try await ref.load())")
                if x % 7 == 3 { threes.append(ref.commit) }
            }
            let large = try await client.submit(Self.wide, 1)
            names[large.commit] = 20
            lines.append("\(large.hash.hex) \(try await large.load().count)")
            for commit in try await client.log() { lines.append("log \(name(commit.hash)) \(name(commit.parent)) \(commit.tags) \(commit.output?.hash.hex ?? "-")") }
            for commit in try await client.history(threes[0].hex) { lines.append("history \(name(commit.hash))") }
            let stats = try await client.stats()
            lines.append("stats \(stats.commits) \(stats.blobs) \(stats.logicalBytes) \(stats.functions)")
            if schema == .v2 {
                try store.reading("counting rows") { txn in
                    let layout = try Self.layout(store)
                    #expect(try txn.count(layout.calls) == 8 && txn.count(layout.superseded) == 13 && txn.count(layout.ids) == 21)
                    #expect(try txn.count(store.tables.blobs) == 1, "only the 800-byte result has a blob row")
                }
                #expect(try await client.fsck().problems.isEmpty)
            }
            answers[schema] = lines
            await client.close()
        }
        let (one, two) = (try #require(answers[.v1]), try #require(answers[.v2]))
        #expect(one.count == two.count)
        for (a, b) in zip(one, two) { #expect(a == b) }
    }

    @Test("fsck finds a lost location, an altered row, a row whose commit hash was altered (found by no lookup), a row cut short (no hash to remove it by; both flips campaign cases) and a lost timeline row in a schema-2 store (exit 3); one repair mends them, restoring the head from its superseded commit")
    func damageIsFoundAndRepaired() async throws {
        let directory = TemporaryDirectory()
        let path = directory.child("store")
        var refs: [ResultRef<Int>] = []
        do {
            let client = Client(store: try LMDBStore(path, configuration: Self.configuration(.v2)))
            for x in 0..<10 { refs.append(try await client.submit(Self.triple, x)) }
            refs.append(try await client.submit(Self.triple, 4, cache: false))   // supersedes refs[4]
            await client.close()
        }
        let (lost, altered, renamed, cut) = (refs[2].commit, refs[10].commit, refs[6].commit, refs[8].commit)
        do {
            let store = try LMDBStore(path)
            let layout = try Self.layout(store)
            let alteredCommit = try #require(try await store.commit(altered))
            let unlisted = try #require(try await store.commit(refs[7].commit))
            let renamedCommit = try #require(try await store.commit(renamed))
            let cutCommit = try #require(try await store.commit(cut))
            try store.writing("damaging rows") { txn in
                #expect(try txn.delete(layout.ids, lost.bytes))
                let id = try #require(try layout.existingFunctionID(alteredCommit.fingerprint.functionHash, txn, cached: false))
                let key = V2CommitLayout.callKey(id, alteredCommit.fingerprint.argumentsHash)
                var row = try #require(try txn.get(layout.calls, key))
                row[row.count - 12] ^= 0x01   // inside the parent's hash: the row no longer expands to its commit
                try txn.put(layout.calls, key, row)
                let renamedKey = V2CommitLayout.callKey(id, renamedCommit.fingerprint.argumentsHash)
                var renamedRow = try #require(try txn.get(layout.calls, renamedKey))
                renamedRow[1 + 5] ^= 0x3A   // the row's commit hash (after the flags byte)
                try txn.put(layout.calls, renamedKey, renamedRow)
                let cutKey = V2CommitLayout.callKey(id, cutCommit.fingerprint.argumentsHash)
                try txn.put(layout.calls, cutKey, Array(try #require(try txn.get(layout.calls, cutKey)).prefix(10)))
                #expect(try txn.delete(store.tables.timeline, layout.timeKey(unlisted.createdAt, unlisted.hash)))
            }
            await store.close()
        }
        let fsck = try await Products.cli("fsck", "--json", "--store", path)
        #expect(fsck.status == 3, "\(fsck.stdout)")
        for kind in ["damaged-commit", "missing-index-entry"] { #expect(fsck.stdout.contains(kind), "\(kind): \(fsck.stdout)") }
        let repair = try await Products.cli("fsck", "--repair", "--store", path)
        #expect(repair.status == 0, "\(fsck.stdout)\n\(repair.stdout)\(repair.stderr)")
        let again = try await Products.cli("fsck", "--store", path)
        #expect(again.status == 0, "\(again.stdout)")
        let client = Client(store: try LMDBStore(path))
        #expect(try await client.show(lost.hex).hash == lost)
        await #expect(throws: CashetError.self) { try await client.show(altered.hex) }
        await #expect(throws: CashetError.self) { try await client.show(renamed.hex) }
        await #expect(throws: CashetError.self) { try await client.show(cut.hex) }
        #expect(try await client.submit(Self.triple, 6).wasCached == false, "the call of the renamed row runs again")
        let head = try await client.submit(Self.triple, 4)
        #expect(head.wasCached && head.commit == refs[4].commit, "the head falls back to the commit the altered one superseded")
        #expect(try await client.log().count == 9)   // 11, less the three removed, plus the re-run
        #expect(try await client.stats().commits == 9)
        await client.close()
    }

    @Test("a lost `results` row (how a small result is found by its own hash) and a stray one: fsck reports both (exit 3), one repair writes the first again and drops the second, and the result loads by its hash again")
    func resultsIndexIsChecked() async throws {
        let directory = TemporaryDirectory()
        let path = directory.child("store")
        let lost = try await Self.storeOfTriples(path, count: 5)[3]
        let stray = [UInt8](repeating: 0xAB, count: 16)
        try await Self.damage(path) { txn, layout in
            #expect(try txn.delete(layout.results, Array(lost.hash.bytes.prefix(8)) + Array(lost.commit.bytes.prefix(8))))
            try txn.put(layout.results, stray, [])
        }
        do {
            let store = try LMDBStore(path)
            await #expect(throws: CashetError.self, "the premise: without its row the result is not found by its hash") {
                try await store.blob(lost.hash)
            }
            await store.close()
        }
        let fsck = try await Products.cli("fsck", "--json", "--store", path)
        #expect(fsck.status == 3, "\(fsck.stdout)")
        for kind in ["missing-index-entry", "stale-index-entry"] { #expect(fsck.stdout.contains(kind), "\(kind): \(fsck.stdout)") }
        #expect(fsck.stdout.contains("results"), "the table is named: \(fsck.stdout)")
        let repair = try await Products.cli("fsck", "--repair", "--store", path)
        #expect(repair.status == 0, "\(repair.stdout)\(repair.stderr)")
        let again = try await Products.cli("fsck", "--store", path)
        #expect(again.status == 0, "\(again.stdout)")
        let store = try LMDBStore(path)
        #expect(try await store.blob(lost.hash) == (try BinarySerializer().encode(9)))
        let layout = try Self.layout(store)
        let strayRow = try store.reading("looking for the stray row") { txn in try txn.get(layout.results, stray) }
        #expect(strayRow == nil, "the stray row is gone")
        await store.close()
    }

    @Test("a function's record cut short in `sources` (flips seed 2026120104, case 434 lost every commit of the function): its rows still expand through the copy in `function_hashes`; fsck reports it (exit 3), one repair writes it again, nothing is lost")
    func damagedFunctionRecordLosesNothing() async throws {
        let directory = TemporaryDirectory()
        let path = directory.child("store")
        var commits: [ContentHash] = []
        do {
            let client = Client(store: try LMDBStore(path, configuration: Self.configuration(.v2)))
            for x in 0..<5 { commits.append(try await client.submit(Self.triple, x).commit) }
            await client.close()
        }
        do {
            let store = try LMDBStore(path)
            try store.writing("cutting a function record short") { txn in
                let key = try #require(try txn.withCursor(store.tables.sources) { cursor in try cursor.move(.first)?.key })
                try txn.put(store.tables.sources, key, Array(try #require(try txn.get(store.tables.sources, key)).prefix(4)))
            }
            await store.close()
        }
        let log = try await Products.cli("log", "--json", "--store", path)
        #expect(log.status == 0 && commits.allSatisfy { log.stdout.contains($0.hex) }, "\(log.stdout)\(log.stderr)")
        let fsck = try await Products.cli("fsck", "--json", "--store", path)
        #expect(fsck.status == 3 && fsck.stdout.contains("damaged-function"), "\(fsck.stdout)")
        let repair = try await Products.cli("fsck", "--repair", "--store", path)
        #expect(repair.status == 0, "\(repair.stdout)\(repair.stderr)")
        #expect(try await Products.cli("fsck", "--store", path).status == 0)
        let client = Client(store: try LMDBStore(path))
        #expect(try await client.log().map(\.hash).sorted { $0.hex < $1.hex } == commits.sorted { $0.hex < $1.hex })
        #expect(try await client.submit(Self.triple, 3).wasCached)
        await client.close()
    }

    @Test("a schema-1 store is migrated by its first writable opening that has it to itself; one in use is opened as it is and migrated by a later opening")
    func migratedOnOpen() async throws {
        let directory = TemporaryDirectory()
        let path = directory.child("store")
        var schemaOne = Self.configuration(.v1)
        schemaOne.migration = .manual
        var expected: [ContentHash] = []
        do {
            let client = Client(store: try LMDBStore(path, configuration: schemaOne))
            for x in 0..<50 { expected.append(try await client.submit(Self.triple, x).commit) }
            await client.close()
        }
        do {
            let holder = try LMDBStore(path, configuration: schemaOne)   // another opening has the store
            let store = try LMDBStore(path)
            #expect(store.tables.layout.schema == .v1, "in use: opened as it is")
            #expect(try await Client(store: store).submit(Self.triple, 7).wasCached)
            await store.close()
            await holder.close()
        }
        let progress = Locked<[Int]>([])
        var settings = LMDBStore.Configuration()
        settings.migrationProgress = { done, total in progress.withLock { $0.append(done) }; #expect(total == 50) }
        let store = try LMDBStore(path, configuration: settings)
        #expect(store.tables.layout.schema == .v2)
        #expect(progress.withLock { $0.last } == 50)
        #expect(Set(try await store.commits(matching: CommitQuery()).map(\.hash)) == Set(expected))
        #expect(try FileManager.default.contentsOfDirectory(atPath: path).contains { $0.hasPrefix("data.mdb.v1-") })
        #expect(try await Client(store: store).submit(Self.triple, 7).wasCached)
        #expect(try await Client(store: store).fsck().problems.isEmpty)
        await store.close()
    }

    @Test("a lost function_hashes row does not free its id: a new function gets another, the old one's hits stay right, and fsck writes the row again (review finding)")
    func lostFunctionRowKeepsItsID() async throws {
        let directory = TemporaryDirectory()
        let path = directory.child("store")
        let third = CachedFunction("third", version: "1") { (x: Int) -> Int in 1_000 + x }
        do {
            let client = Client(store: try LMDBStore(path, configuration: Self.configuration(.v2)))
            _ = try await client.submit(Self.triple, 5)
            _ = try await client.submit(Self.wide, 5)
            await client.close()
        }
        do {
            let store = try LMDBStore(path)
            let layout = try Self.layout(store)
            try store.writing("losing the newest function's row") { txn in
                let last = try #require(try txn.withCursor(layout.functionHashes) { cursor in try cursor.move(.last)?.key })
                #expect(try txn.delete(layout.functionHashes, last))
            }
            await store.close()
        }
        let client = Client(store: try LMDBStore(path))
        #expect(try await client.submit(third, 5).load() == 1_005, "a new function, with an id of its own")
        #expect(try await client.submit(third, 5).wasCached)
        let wide = try await client.submit(Self.wide, 5)
        let wideValue = try await wide.load()
        #expect(wide.wasCached && wideValue == Array(repeating: 5 * 1_000_003, count: 100))
        #expect(try await client.submit(Self.triple, 5).load() == 15)
        await client.close()
        let fsck = try await Products.cli("fsck", "--repair", "--store", path)
        #expect(fsck.status == 0 && fsck.stdout.contains("function_hashes"), "\(fsck.stdout)\(fsck.stderr)")
        #expect(try await Products.cli("fsck", "--store", path).status == 0)
    }

    @Test("a function_hashes row whose hash was flipped (CI flips seed 4014219833 case 29 lost every commit of the function): rows expand through function_ids; one repair writes the row again, nothing is lost")
    func flippedFunctionHashLosesNothing() async throws {
        let directory = TemporaryDirectory()
        let path = directory.child("store")
        let commits = try await Self.storeOfTriples(path, count: 6).map(\.commit)
        try await Self.damage(path) { txn, layout in
            let key = try #require(try txn.withCursor(layout.functionHashes) { cursor in try cursor.move(.first)?.key })
            var row = try #require(try txn.get(layout.functionHashes, key))
            row[3] ^= 0x10
            try txn.put(layout.functionHashes, key, row)
        }
        let repair = try await Products.cli("fsck", "--repair", "--store", path)
        #expect(repair.status == 0, "\(repair.stdout)\(repair.stderr)")
        #expect(try await Products.cli("fsck", "--store", path).status == 0)
        let client = Client(store: try LMDBStore(path))
        #expect(Set(try await client.log().map(\.hash)) == Set(commits))
        await client.close()
    }

    @Test("a function_ids key whose hash was flipped (CI flips seed 1601983981 case 77 lost every commit of the function): rows expand through function_hashes; fsck names both rows of function_ids (exit 3), one repair puts the right key back and drops the flipped one, nothing is lost, and the calls hit again")
    func flippedFunctionIDKeyLosesNothing() async throws {
        let directory = TemporaryDirectory()
        let path = directory.child("store")
        let commits = try await Self.storeOfTriples(path, count: 6).map(\.commit)
        try await Self.damage(path) { txn, layout in
            let (key, id) = try #require(try txn.withCursor(layout.functionIDs) { cursor in try cursor.move(.first) })
            var flipped = key
            flipped[20] ^= 0x2E
            #expect(try txn.delete(layout.functionIDs, key))
            try txn.put(layout.functionIDs, flipped, id)
        }
        do {
            let client = Client(store: try LMDBStore(path))
            #expect(Set(try await client.log().map(\.hash)) == Set(commits), "before any repair, every commit still reads")
            await client.close()
        }
        let fsck = try await Products.cli("fsck", "--json", "--store", path)
        #expect(fsck.status == 3 && fsck.stdout.contains("function_ids"), "\(fsck.stdout)")
        for kind in ["missing-index-entry", "stale-index-entry"] { #expect(fsck.stdout.contains(kind), "\(kind): \(fsck.stdout)") }
        let repair = try await Products.cli("fsck", "--repair", "--store", path)
        #expect(repair.status == 0, "\(repair.stdout)\(repair.stderr)")
        #expect(try await Products.cli("fsck", "--store", path).status == 0)
        let client = Client(store: try LMDBStore(path))
        #expect(Set(try await client.log().map(\.hash)) == Set(commits))
        let again = try await client.submit(Self.triple, 3)
        #expect(again.wasCached && again.commit == commits[3], "the call hits its commit again")
        await client.close()
    }

    @Test("cashet migrate killed at random moments leaves schema 1 or a complete schema 2, never in between; the next migrate finishes")
    func migrationKilledAnywhere() async throws {
        let directory = TemporaryDirectory()
        let original = directory.child("original")
        var expected: Set<ContentHash> = []
        do {
            let client = Client(store: try LMDBStore(original, configuration: Self.configuration(.v1)))
            expected = Set(try await client.map(Self.triple, over: Array(0..<20_000)).map(\.commit))
            await client.close()
        }
        var outcomes: [String: Int] = [:]
        for round in 0..<6 {
            let path = directory.child("round-\(round)")
            try FileManager.default.copyItem(atPath: original, toPath: path)
            let migrate = try Products.startCLI(["migrate", "--store", path])
            try await Task.sleep(for: .milliseconds(50 + round * 150))
            kill(migrate.processIdentifier, SIGKILL)
            migrate.waitUntilExit()
            do {
                var asFound = LMDBStore.Configuration()
                asFound.migration = .manual
                let store = try LMDBStore(path, configuration: asFound)
                let schema = store.tables.layout.schema
                outcomes["schema \(schema.rawValue)", default: 0] += 1
                #expect(Set(try await store.commits(matching: CommitQuery()).map(\.hash)) == expected, "round \(round): schema \(schema.rawValue)")
                await store.close()
            }   // released: migrate needs the store to itself
            let finish = try await Products.cli("migrate", "--store", path)
            #expect(finish.status == 0, "round \(round): \(finish.stderr)")
            let fsck = try await Products.cli("fsck", "--store", path)
            #expect(fsck.status == 0, "round \(round): \(fsck.stdout)")
            do {
                let migrated = try LMDBStore(path)
                #expect(migrated.tables.layout.schema == .v2)
                #expect(Set(try await migrated.commits(matching: CommitQuery()).map(\.hash)) == expected)
                await migrated.close()
            }
        }
        #expect(outcomes.values.reduce(0, +) == 6, "\(outcomes)")
    }
}
