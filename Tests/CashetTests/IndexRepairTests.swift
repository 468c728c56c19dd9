@testable import Cashet
import CashetTestSupport
import Foundation
import Testing

@Suite("Altered commit records and index rows: never served, found by fsck, repaired in one pass")
struct IndexRepairTests {
    static let triple = CachedFunction("triple", version: "1") { (x: Int) -> Int in 3 * x }

    /// A closed store of `count` tagged commits, and their hashes by input.
    static func populated(_ count: Int) async throws -> (TemporaryDirectory, store: String, commits: [ContentHash]) {
        let directory = TemporaryDirectory()
        let store = directory.child("store")
        let client = Client(store: try LMDBStore(store, configuration: schemaOne))
        let refs = try await client.map(triple, over: Array(0..<count), tags: ["batch": "one"])
        await client.close()
        return (directory, store, refs.map(\.commit))
    }

    /// Changes `store`'s rows directly, in one write transaction named `action`, and closes it.
    /// Opens a schema-1 store as it is: these cases damage schema 1's tables (SchemaTwoTests damages schema 2's).
    static var schemaOne: LMDBStore.Configuration {
        var configuration = LMDBStore.Configuration()
        configuration.schema = .v1
        configuration.migration = .manual
        return configuration
    }

    static func damage(_ store: String, _ action: String, _ body: (LMDBStore.Tables, LMDBTransaction) throws -> Void) throws {
        let opened = try LMDBStore(store, configuration: schemaOne)
        try opened.writing(action) { txn in try body(opened.tables, txn) }
    }

    @Test("a commit record altered in place (its output hash): show and get refuse it (exit 3) instead of serving it; one fsck --repair removes it and repoints its head, and fsck is then clean")
    func alteredRecordIsNeverServed() async throws {
        let (directory, store, commits) = try await Self.populated(50)
        defer { withExtendedLifetime(directory) {} }
        let victim = commits[17]
        try Self.damage(store, "altering a record") { tables, txn in
            var record = try #require(try txn.get(tables.commits, victim.bytes))
            record[record.count / 2] ^= 0x40   // decodes fine, names something else
            try txn.put(tables.commits, victim.bytes, record)
        }
        for command in ["show", "get"] {
            let result = try await Products.cli(command, victim.hex, "--store", store)
            #expect(result.status == 3, "\(command): \(result.status) \(result.stdout) \(result.stderr)")
            #expect(result.stderr.contains("does not hash to its name"), "\(command): \(result.stderr)")
        }
        let repair = try await Products.cli("fsck", "--repair", "--store", store)
        #expect(repair.status == 0, "\(repair.stdout) \(repair.stderr)")
        let check = try await Products.cli("fsck", "--store", store)
        #expect(check.status == 0, "one repair must be enough: \(check.stdout)")
        let stats = try await Products.cli("stats", "--json", "--store", store)
        #expect(stats.stdout.contains("\"commits\":49"), "\(stats.stdout)")
        // The call runs again and becomes the head of its fingerprint.
        let client = try Client(path: store)
        #expect(try await client.submit(Self.triple, 17).wasCached == false)
        #expect(try await client.submit(Self.triple, 17).load() == 51)
    }

    @Test("a repair whose transaction runs out of map space grows the map and runs again: each repair is reported once, not once per attempt")
    func repairRetriedReportsOnce() async throws {
        let (directory, store, commits) = try await Self.populated(400)
        defer { withExtendedLifetime(directory) {} }
        // Rewritten in a few transactions, the file has a short free list, however `map` batched
        // the calls: the repair below must take most of its pages past the end of the file.
        _ = try LMDBStore.rebuild(at: store)
        let victims = Array(commits.prefix(300))
        try Self.damage(store, "altering records") { tables, txn in
            for victim in victims {
                var record = try #require(try txn.get(tables.commits, victim.bytes))
                record[record.count / 2] ^= 0x40
                try txn.put(tables.commits, victim.bytes, record)
            }
        }
        // A map a few pages larger than what the file uses: the repair runs out partway through
        // (having reported some removals), the map grows, and the transaction runs again.
        let usedPages = try StructureRepairTests.walker(of: store).meta.lastPage + 1
        var settings = Self.schemaOne
        settings.initialMapSize = Int(usedPages + 8) * 4096
        let opened = try LMDBStore(store, configuration: settings)
        let before = opened.env.mapSize
        let report = try await Client(store: opened).fsck(repair: true)
        #expect(opened.env.mapSize > before, "the premise: the repair had to grow the map (\(before) bytes)")
        #expect(report.unrepaired.isEmpty)
        #expect(Set(report.repairs).count == report.repairs.count, "\(report.repairs.count) lines, \(Set(report.repairs).count) distinct")
        #expect(report.repairs.filter { line in victims.contains { line.contains($0.hex) } }.count == victims.count)
    }

    @Test("a commit's timeline row lost and a history row naming the wrong commit: log leaves the commit out, fsck reports both (exit 3), one repair rewrites them from the commits, and log lists it again")
    func damagedIndexRowsAreRewritten() async throws {
        let (directory, store, commits) = try await Self.populated(30)
        defer { withExtendedLifetime(directory) {} }
        let lost = commits[5], misnamed = commits[9]
        do {
            let opened = try LMDBStore(store, configuration: Self.schemaOne)
            let client = Client(store: opened)
            let (lostCommit, misnamedCommit) = (try await client.show(lost.hex), try await client.show(misnamed.hex))
            try opened.writing("damaging index rows") { txn in
                #expect(try txn.delete(opened.tables.timeline, StoreRecords.timeKey(lostCommit.createdAt, lost)))
                let timeKey = StoreRecords.timeKey(misnamedCommit.createdAt, misnamed)
                #expect(try txn.delete(opened.tables.history, misnamedCommit.fingerprint.bytes, value: timeKey))
                var wrong = timeKey
                wrong[20] ^= 0x01   // the commit-hash part: names no commit
                try txn.put(opened.tables.history, misnamedCommit.fingerprint.bytes, wrong)
            }
        }
        let before = try await Products.cli("log", "--json", "--store", store)
        #expect(!before.stdout.contains(lost.hex), "the damage is real: log leaves the commit out")

        let check = try await Products.cli("fsck", "--json", "--store", store)
        #expect(check.status == 3, "\(check.stdout)")
        #expect(check.stdout.contains("missing-index-entry") && check.stdout.contains("stale-index-entry"), "\(check.stdout)")

        let repair = try await Products.cli("fsck", "--repair", "--store", store)
        #expect(repair.status == 0, "\(repair.stdout) \(repair.stderr)")
        let again = try await Products.cli("fsck", "--store", store)
        #expect(again.status == 0, "\(again.stdout)")
        let after = try await Products.cli("log", "--json", "--store", store)
        #expect(after.stdout.contains(lost.hex) && after.stdout.contains(misnamed.hex))
        let history = try await Products.cli("history", misnamed.hex, "--json", "--store", store)
        #expect(history.status == 0 && history.stdout.contains(misnamed.hex), "\(history.stdout) \(history.stderr)")
    }

    @Test("a commit record cut short (shorter than the function it names) and a history row cut short: log, show and rm end with exit 3 naming the damage, never a trap; one fsck --repair makes the store clean")
    func recordsCutShortAreDamageNotATrap() async throws {
        let (directory, store, commits) = try await Self.populated(20)
        defer { withExtendedLifetime(directory) {} }
        let cut = commits[4], headOfCutHistory = commits[11]
        do {
            let opened = try LMDBStore(store, configuration: Self.schemaOne)
            let fingerprint = try await Client(store: opened).show(headOfCutHistory.hex).fingerprint
            try opened.writing("cutting records short") { txn in
                let record = try #require(try txn.get(opened.tables.commits, cut.bytes))
                try txn.put(opened.tables.commits, cut.bytes, Array(record.prefix(10)))
                // rm of the head looks for the newest commit left in its history.
                try txn.put(opened.tables.history, fingerprint.bytes, [0x01, 0x02, 0x03])
            }
        }
        for arguments in [["log"], ["show", cut.hex], ["rm", headOfCutHistory.hex]] {
            let result = try await Products.cli(arguments + ["--store", store])
            #expect(result.status == 3, "\(arguments): \(result.status) \(result.stdout) \(result.stderr)")
            #expect(result.stderr.contains("damaged") || result.stderr.contains("expected 40"), "\(arguments): \(result.stderr)")
        }
        let repair = try await Products.cli("fsck", "--repair", "--store", store)
        #expect(repair.status == 0, "\(repair.stdout) \(repair.stderr)")
        let check = try await Products.cli("fsck", "--store", store)
        #expect(check.status == 0, "one repair must be enough: \(check.stdout)")
        let log = try await Products.cli("log", "--json", "--store", store)
        #expect(log.status == 0 && !log.stdout.contains(cut.hex) && log.stdout.contains(headOfCutHistory.hex), "\(log.stdout) \(log.stderr)")
    }

    @Test("the schema version's key damaged (the meta table keeps its counters): every command still reads the store, fsck reports the missing record (exit 3), and one repair writes it back")
    func schemaRecordDamaged() async throws {
        let (directory, store, commits) = try await Self.populated(5)
        defer { withExtendedLifetime(directory) {} }
        try Self.damage(store, "damaging the schema key") { tables, txn in
            let version = try #require(try txn.get(tables.meta, LMDBStore.schemaKey))
            #expect(try txn.delete(tables.meta, LMDBStore.schemaKey))
            try txn.put(tables.meta, Array("sch\u{11}ma".utf8), version)   // the flipped key, as the flips campaign found it
        }
        let log = try await Products.cli("log", "--json", "--store", store)
        #expect(log.status == 0 && log.stdout.contains(commits[3].hex), "\(log.stdout) \(log.stderr)")
        let check = try await Products.cli("fsck", "--json", "--store", store)
        #expect(check.status == 3 && check.stdout.contains("missing-schema-record"), "\(check.stdout) \(check.stderr)")
        let repair = try await Products.cli("fsck", "--repair", "--store", store)
        #expect(repair.status == 0 && repair.stdout.contains("schema version"), "\(repair.stdout) \(repair.stderr)")
        let again = try await Products.cli("fsck", "--store", store)
        #expect(again.status == 0, "\(again.stdout) \(again.stderr)")
    }

    @Test("a function's row cut short (its commits cannot be shown): fsck reports damaged-function (exit 3), one repair writes the row again from its commits, and log lists them")
    func functionRowDamaged() async throws {
        let (directory, store, commits) = try await Self.populated(5)
        defer { withExtendedLifetime(directory) {} }
        try Self.damage(store, "cutting a function row short") { tables, txn in
            let key = try #require(try txn.withCursor(tables.sources) { cursor in try cursor.move(.first)?.key })
            let row = try #require(try txn.get(tables.sources, key))
            try txn.put(tables.sources, key, Array(row.prefix(4)))
        }
        let check = try await Products.cli("fsck", "--json", "--store", store)
        #expect(check.status == 3 && check.stdout.contains("damaged-function"), "\(check.stdout) \(check.stderr)")
        let repair = try await Products.cli("fsck", "--repair", "--store", store)
        #expect(repair.status == 0, "\(repair.stdout) \(repair.stderr)")
        let again = try await Products.cli("fsck", "--store", store)
        #expect(again.status == 0, "\(again.stdout) \(again.stderr)")
        let log = try await Products.cli("log", "--json", "--store", store)
        #expect(log.status == 0 && commits.allSatisfy { log.stdout.contains($0.hex) }, "\(log.stdout) \(log.stderr)")
    }
}
