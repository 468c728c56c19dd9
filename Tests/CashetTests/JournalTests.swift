@testable import Cashet
import CashetTestSupport
import Foundation
import Testing

@Suite("Durability.normal: the commit journal in front of LMDB")
struct JournalTests {
    static let triple = CachedFunction("journal-triple", version: "1") { (x: Int) -> Int in 3 * x }

    /// `.normal`, with a timer that never fires during a test: commits stay in the journal.
    static func normal() -> LMDBStore.Configuration {
        var settings = LMDBStore.Configuration()
        settings.durability = .normal
        settings.journalFlushInterval = .seconds(3600)
        return settings
    }

    static func journalSize(_ store: String) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: store + "/journal")[.size] as? Int)
    }

    /// A new `.normal` store (timer off) in a temporary directory, and a client on it.
    static func journaledStore() throws -> (TemporaryDirectory, path: String, LMDBStore, Client) {
        let directory = TemporaryDirectory()
        let path = directory.child("store")
        let store = try LMDBStore(path, configuration: normal())
        return (directory, path, store, Client(store: store))
    }

    static func inLMDB(_ store: LMDBStore, _ commit: ContentHash) throws -> Bool {
        try store.reading("looking") { txn in try store.tables.layout.contains(commit, txn) }
    }

    @Test("a recorded commit waits in the journal, yet every process sees it: hits here, and log, show, get, history and stats in a read-only `cashet`; a flush moves it into LMDB and empties the journal, and nothing a reader sees changes")
    func journaledCommitsAreSeenEverywhere() async throws {
        let (directory, path, store, client) = try Self.journaledStore()
        defer { withExtendedLifetime(directory) {} }
        var refs: [ResultRef<Int>] = []
        for x in 0..<20 { refs.append(try await client.submit(Self.triple, x)) }
        #expect(try await client.submit(Self.triple, 3).wasCached)
        #expect(try await client.submit(Self.triple, 3).load() == 9)
        #expect(try !Self.inLMDB(store, refs[0].commit) && Self.journalSize(path) > JournalFormat.headerSize, "the premise: the commits are only in the journal")

        func readersAgree() async throws {
            let log = try await Products.cli("log", "--json", "--store", path)
            #expect(log.status == 0 && refs.allSatisfy { log.stdout.contains($0.commit.hex) }, "\(log.stdout) \(log.stderr)")
            let get = try await Products.cli("get", refs[5].commit.hex, "--store", path)
            let expected = try await client.get(refs[5].commit.hex)
            #expect(get.status == 0 && Array(get.stdout.utf8) == expected, "\(get.stderr)")
            let show = try await Products.cli("show", String(refs[9].commit.hex.prefix(12)), "--store", path)
            #expect(show.status == 0 && show.stdout.contains(refs[9].commit.hex), "\(show.stderr)")
            let history = try await Products.cli("history", refs[7].commit.hex, "--json", "--store", path)
            #expect(history.status == 0 && history.stdout.contains(refs[7].commit.hex), "\(history.stdout) \(history.stderr)")
            let stats = try await Products.cli("stats", "--json", "--store", path)
            #expect(stats.status == 0 && stats.stdout.contains("\"commits\":20"), "\(stats.stdout) \(stats.stderr)")
        }
        try await readersAgree()

        try store.flushJournal()
        #expect(try Self.inLMDB(store, refs[0].commit) && Self.journalSize(path) == JournalFormat.headerSize)
        try await readersAgree()
        #expect(try await client.fsck().problems.isEmpty)
        await client.close()
    }

    @Test("a power cut that brings back an older, applied generation of the journal (its reset was never synced; a later flush was), with a torn record after it, applies nothing twice; a durable process then chains on the journaled commits")
    func nothingAppliedTwice() async throws {
        let directory = TemporaryDirectory()
        let path = directory.child("store")
        var saved: [UInt8] = []
        var commits: [ContentHash] = []
        do {
            let store = try LMDBStore(path, configuration: Self.normal())
            let client = Client(store: store)
            for x in 0..<30 { commits.append(try await client.submit(Self.triple, x).commit) }
            saved = Array(try Data(contentsOf: URL(fileURLWithPath: path + "/journal")))
            try store.flushJournal()
            for x in 30..<40 { commits.append(try await client.submit(Self.triple, x).commit) }
            try store.flushJournal()
        }
        // Both flushes were durable (synced LMDB commits); neither reset of the journal reached
        // the disk: the first generation's applied records are back, and a record torn after them.
        try Data(saved + Array(saved[JournalFormat.headerSize..<(JournalFormat.headerSize + 40)])).write(to: URL(fileURLWithPath: path + "/journal"))
        do {
            var durable = LMDBStore.Configuration()
            durable.durability = .durable
            let store = try LMDBStore(path, configuration: durable)
            let client = Client(store: store)
            #expect(try await client.submit(Self.triple, 4).wasCached)
            let stats = try await client.stats()
            #expect(stats.commits == 40 && stats.completed == 40, "\(stats)")
            let report = try await client.fsck()
            #expect(report.problems.isEmpty, "\(report.problems)")
            // A new commit of a call (its earlier result removed) chains on the journaled one.
            _ = try await client.rm(commits[4].hex)
            let rerun = try await client.submit(Self.triple, 4)
            #expect(rerun.wasCached == false)
            #expect(try await client.history(rerun.commit.hex).count == 1)
            #expect(try Self.journalSize(path) == JournalFormat.headerSize)
            await client.close()
        }
    }

    @Test("a flush that finds the map full leaves the commits in the journal, served as before; the call that finds the journal due fails with .outOfSpace and records nothing; with a larger limit the next change applies them all")
    func flushIntoAFullMap() async throws {
        let directory = TemporaryDirectory()
        let path = directory.child("store")
        var settings = Self.normal()
        settings.initialMapSize = 1 << 20
        settings.maxMapSize = 1 << 20
        let block = CachedFunction("journal-block", version: "1") { (seed: Int) -> [UInt8] in TestPayload.incompressible(40 << 10, seed: UInt64(seed)) }
        // Hashes, not refs: a ref keeps its store (and the environment, with its old limit) open.
        let acknowledged: [(commit: ContentHash, hash: ContentHash)]
        do {
            let client = Client(store: try LMDBStore(path, configuration: settings), serializer: RawBytesSerializer())
            let filled = await FaultInjectionTests.submitUntilFailure(client, block, calls: 200) { $0 }
            acknowledged = filled.stored.map { ($0.commit, $0.hash) }
            #expect(filled.failure?.code == .outOfSpace && filled.failure?.message.contains("map limit") == true, "\(String(describing: filled.failure))")
            #expect(acknowledged.count >= 50, "the premise: the journal took more than the map holds (\(acknowledged.count))")
            for (commit, hash) in acknowledged.suffix(5) { #expect(SHA256Hasher.hash(try await client.get(commit.hex)) == hash) }
        }
        settings.maxMapSize = 64 << 20
        let client = Client(store: try LMDBStore(path, configuration: settings), serializer: RawBytesSerializer())
        #expect(try await client.stats().commits == acknowledged.count)
        let last = try #require(acknowledged.last)
        let report = try await client.fsck()
        let again = try await client.submit(block, acknowledged.count)   // the arguments ran from 1
        #expect(report.problems.isEmpty && again.wasCached && again.commit == last.commit, "\(report.problems)")
        #expect(try Self.journalSize(path) == JournalFormat.headerSize)
    }

    @Test("a flush aside applies what it read while commits go on: one appended meanwhile keeps the journal (numbered past the mark) and is applied once by the next flush; with nothing appended, the journal is reset")
    func flushAside() async throws {
        let (directory, path, store, client) = try Self.journaledStore()
        defer { withExtendedLifetime(directory) {} }
        var commits: [ContentHash] = []
        for x in 0..<10 { commits.append(try await client.submit(Self.triple, x).commit) }
        let snapshot = try #require(try store.journalSnapshot())
        let meanwhile = try await client.submit(Self.triple, 10).commit
        try store.applyAside(snapshot)
        #expect(try commits.allSatisfy { try Self.inLMDB(store, $0) } && !Self.inLMDB(store, meanwhile))
        #expect(try Self.journalSize(path) > JournalFormat.headerSize, "the journal keeps the commit appended meanwhile")
        #expect(try await client.submit(Self.triple, 10).wasCached, "and serves it")
        try store.flushJournal()
        #expect(try Self.inLMDB(store, meanwhile) && Self.journalSize(path) == JournalFormat.headerSize)
        let stats = try await client.stats()
        #expect(stats.commits == 11 && stats.blobs == 11, "\(stats)")
        #expect(try await client.fsck().problems.isEmpty)

        _ = try await client.submit(Self.triple, 11)
        try store.flushJournalAside()
        let after = try await client.stats()
        #expect(try Self.journalSize(path) == JournalFormat.headerSize && after.commits == 12)
        await client.close()
    }

    @Test("a lookup is answered while a writer holds the journal through an LMDB transaction and its sync (map's group commit, gc, a flush): lookups wait for no writer")
    func lookupsDoNotWaitForWriters() async throws {
        let (directory, _, store, client) = try Self.journaledStore()
        defer { withExtendedLifetime(directory) {} }
        let ref = try await client.submit(Self.triple, 7)
        let fingerprint = try Self.triple.fingerprint(7)
        let answered = DispatchSemaphore(value: 0)
        let found = Locked<ContentHash?>(nil)
        let answeredWhileHeld = try store.writing("holding the writer lock") { _ in
            Thread {
                let head = try? store.readHead(fingerprint)   // the journal's overlay, then LMDB
                found.withLock { $0 = head?.head.commit }
                answered.signal()
            }.start()
            // Not a timing: on a build where lookups wait for writers, this can only time out.
            return answered.wait(timeout: .now() + 30) == .success
        }
        if !answeredWhileHeld { answered.wait() }
        #expect(answeredWhileHeld, "the lookup waited until the writer let go")
        #expect(found.withLock { $0 } == ref.commit, "the journaled commit was found")
    }
}
