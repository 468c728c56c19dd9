@testable import Cashet
import CashetTestSupport
import Foundation
import Testing

@Suite("import is all or nothing, and keeps everything the exporter had")
struct ImportAtomicityTests {
    /// A function with its source (as `@Cached` records it), so a round trip can lose it.
    static let withSource = CachedFunction(
        identity: FunctionIdentity(name: "scaled", hash: SHA256Hasher.hash(Array("scaled v1".utf8)), source: "func scaled(_ x: Int) -> Int {\n    x * 3\n}"),
        options: CallOptions()) { (x: Int) -> Int in x * 3 }

    /// A store of `count` commits of a function with source, exported; returns the store, the archive.
    static func exported(count: Int) async throws -> (TemporaryDirectory, store: String, archive: String) {
        let directory = TemporaryDirectory()
        let store = directory.child("source")
        let client = try Client(path: store)
        _ = try await client.map(withSource, over: Array(0..<count))
        let archive = directory.child("all.cashet")
        _ = try await client.exportArchive(to: archive)
        return (directory, store, archive)
    }

    /// `show --json` of every commit `log` lists, by hash.
    static func shown(_ store: String) throws -> [String: String] {
        let log = try Products.cashet("log", "--json", "--store", store)
        var shown: [String: String] = [:]
        for line in log.stdout.split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let hash = try #require(object["hash"] as? String)
            shown[hash] = try Products.cashet("show", hash, "--json", "--store", store).stdout
        }
        return shown
    }

    @Test("a round trip keeps every commit's `show --json`, function source included")
    func roundTripKeepsSources() async throws {
        let (directory, store, archive) = try await Self.exported(count: 5)
        let target = directory.child("target")
        let imported = try Products.cashet("import", archive, "--store", target)
        #expect(imported.status == 0, "\(imported.stderr)")
        let (before, after) = (try Self.shown(store), try Self.shown(target))
        #expect(before.count == 5 && before == after)
        #expect(after.values.allSatisfy { $0.contains("x * 3") }, "\(after.values.first ?? "")")
    }

    /// Rewrites an archive record by record (hashes and the end checksum made consistent again),
    /// so only the change under test is wrong.
    static func rewrite(_ archive: String, to output: String, _ change: (inout [ArchiveReader.Record]) -> Void) throws {
        var reader = try ArchiveFile.open(archive).reader()
        var records: [ArchiveReader.Record] = []
        while let record = try reader.next() { records.append(record) }
        change(&records)
        var writer = try ArchiveWriter(try PosixFile.createExclusive(output, mode: 0o600))
        for record in records { try writer.write(record.kind, hash: record.hash, record.body) }
        try writer.finish()
    }

    /// A commit record whose last varint (its tag count, 0) is written in two bytes: it decodes
    /// to the same commit, but no store would write it.
    static func nonCanonical(_ records: inout [ArchiveReader.Record]) {
        let index = records.lastIndex { $0.kind == .commit }!
        let body = Array(records[index].body.dropLast()) + [0x80, 0x00]
        records[index] = ArchiveReader.Record(kind: .commit, hash: SHA256Hasher.hash(body), body: body)
    }

    /// A commit whose function name is longer than any store accepts, under a correct hash.
    static func overlongName(_ records: inout [ArchiveReader.Record]) {
        let index = records.lastIndex { $0.kind == .commit }!
        var commit = try! CanonicalCommit.decodeCommit(hash: records[index].hash, records[index].body, details: .none)
        commit.task.functionName = String(repeating: "n", count: 600)
        let body = CanonicalCommit.encodeCommit(commit.draft, output: commit.output, parent: commit.parent)
        records[index] = ArchiveReader.Record(kind: .commit, hash: SHA256Hasher.hash(body), body: body)
    }

    @Test("an archive with one bad record (non-canonical, or over a limit) is refused whole: a fresh store is not created, a non-empty one is left exactly as it was",
          arguments: ["non-canonical", "over-long name"])
    func oneBadRecord(_ kind: String) async throws {
        let (directory, _, archive) = try await Self.exported(count: 300)
        let bad = directory.child("bad.cashet")
        try Self.rewrite(archive, to: bad, kind == "non-canonical" ? Self.nonCanonical : Self.overlongName)

        let fresh = directory.child("fresh")
        let intoFresh = try Products.cashet("import", bad, "--store", fresh)
        #expect(intoFresh.status == 3, "\(intoFresh.stdout) \(intoFresh.stderr)")
        #expect(!FileSystem.exists(fresh), "a refused import left a store behind")

        let existing = directory.child("existing")
        _ = try await Client(path: existing).submit(Self.withSource, 1_000)
        let (log, stats) = (try Products.cashet("log", "--json", "--store", existing).stdout, try Products.cashet("stats", "--json", "--store", existing).stdout)
        let intoExisting = try Products.cashet("import", bad, "--store", existing)
        #expect(intoExisting.status == 3 && intoExisting.stderr.contains("nothing was imported"), "\(intoExisting.stderr)")
        #expect(try Products.cashet("log", "--json", "--store", existing).stdout == log)
        #expect(try Products.cashet("stats", "--json", "--store", existing).stdout == stats)
    }

    @Test("a missing archive, a directory or a FIFO is refused at once (no wait on the FIFO) and no store is created")
    func notAnArchive() throws {
        let directory = TemporaryDirectory()
        let fifo = directory.child("fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        try FileManager.default.createDirectory(atPath: directory.child("dir"), withIntermediateDirectories: false)
        for (name, status) in [("missing", Int32(1)), ("dir", 3), ("fifo", 3)] {
            let store = directory.child("store-" + name)
            // `timeout` turns a hang (the earlier code waited for a FIFO writer) into exit 124.
            let result = try Products.run("/usr/bin/timeout", ["60", Products.cli, "import", directory.child(name), "--store", store])
            #expect(result.status == status, "\(name): \(result.status) \(result.stderr)")
            #expect(!FileSystem.exists(store), "\(name): a refused import left a store behind")
        }
    }
}
