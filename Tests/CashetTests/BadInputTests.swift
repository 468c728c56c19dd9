@testable import Cashet
import CashetTestSupport
import Foundation
import Testing

@Suite("Bad input gives typed errors and writes nothing")
struct BadInputTests {
    @Test("a hash that matches nothing: .notFound, CLI exits non-zero")
    func unknownHash() async throws {
        let fixture = try Fixture()
        _ = try await fixture.client.submit(CachedFunction("id", version: "1") { (x: Int) in x }, 1)
        let error = await #expect(throws: CashetError.self) { try await fixture.client.show("0000000000") }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains("0000000000") == true)
        let cli = try Products.cashet("--store", fixture.storePath, "show", "0000000000")
        #expect(cli.status == 1 && cli.stderr.contains("no commit matches"))
        let invalid = try Products.cashet("--store", fixture.storePath, "show", "zz-top")
        #expect(invalid.status == 2 && invalid.stderr.contains("not a hash prefix"))
        let usage = try Products.cashet("--store", fixture.storePath, "show", "abcd", "--bogus")
        #expect(usage.status == 2 && usage.stderr.contains("--bogus"), "\(usage.stderr)")
        let missingArgument = try Products.cashet("--store", fixture.storePath, "show")
        #expect(missingArgument.status == 2 && missingArgument.stderr.contains("<hash>"), "\(missingArgument.stderr)")
    }

    @Test("an ambiguous prefix lists the candidates")
    func ambiguousPrefix() async throws {
        let directory = TemporaryDirectory()
        var configuration = LMDBStore.Configuration()
        configuration.durability = .noSync
        let client = Client(store: try LMDBStore(directory.child("store"), configuration: configuration))
        let id = CachedFunction("id", version: "1") { (x: Int) in x }
        var seen: [String: ContentHash] = [:]
        var collision: (ContentHash, ContentHash)?
        for x in 0..<5000 where collision == nil {
            let commit = try await client.submit(id, x).commit
            let prefix = String(commit.hex.prefix(4))
            if let earlier = seen[prefix] { collision = (earlier, commit) }
            seen[prefix] = commit
        }
        let (a, b) = try #require(collision)
        let prefix = String(a.hex.prefix(4))
        let error = await #expect(throws: CashetError.self) { try await client.show(prefix) }
        #expect(error?.code == .ambiguousHash)
        #expect(error?.message.contains(a.shortHex) == true && error?.message.contains(b.shortHex) == true)
        let cli = try Products.cashet("--store", directory.child("store"), "show", prefix)
        #expect(cli.status == 1 && cli.stderr.contains(a.shortHex) && cli.stderr.contains(b.shortHex))
        // One more character is enough when the two differ there.
        let longer = try await client.show(String(a.hex.prefix(12)))
        #expect(longer.hash == a)
    }

    @Test("a path that is not a store is refused and left as it was")
    func notAStore() throws {
        let directory = TemporaryDirectory()
        let file = directory.child("file.txt")
        try Data("hello".utf8).write(to: URL(fileURLWithPath: file))
        #expect((try? LMDBStore(file)) == nil)
        #expect(throws: CashetError.self) { try Client(path: file) }
        #expect(#expect(throws: CashetError.self) { try LMDBStore(file) }?.code == .notAStore)

        let project = directory.child("project")
        try FileManager.default.createDirectory(atPath: project, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: project + "/README"))
        let refused = #expect(throws: CashetError.self) { try LMDBStore(project) }
        #expect(refused?.code == .notAStore && refused?.message.contains(project) == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: project) == ["README"])

        let missing = directory.child("missing")
        let cli = try Products.cashet("--store", missing, "stats")
        #expect(cli.status == 4 && cli.stderr.contains("no cashet store at \(missing)"))
        #expect(!FileManager.default.fileExists(atPath: missing))
        let onFile = try Products.cashet("--store", file, "log")
        #expect(onFile.status == 4 && onFile.stderr.contains("is a file"))
    }

    @Test("a store written by a newer schema is refused without writing")
    func newerSchema() async throws {
        let directory = TemporaryDirectory()
        let path = directory.child("store")
        do {
            let store = try LMDBStore(path)
            _ = try await Client(store: store).submit(CachedFunction("id", version: "1") { (x: Int) in x }, 1)
            try store.env.write { txn in
                var version = ByteWriter()
                version.appendVarint(99)
                try txn.put(store.tables.meta, LMDBStore.schemaKey, version.bytes)
            }
        }  // the environment closes here: LMDB allows one per process per file
        let before = try fileDigest(path + "/data.mdb")
        let error = #expect(throws: CashetError.self) { try LMDBStore(path) }
        #expect(error?.code == .newerSchema)
        #expect(error?.message.contains("99") == true && error?.message.contains(path) == true)
        let cli = try Products.cashet("--store", path, "stats")
        #expect(cli.status == 4 && cli.stderr.contains("schema version 99"))
        #expect(try fileDigest(path + "/data.mdb") == before)
    }

    @Test("invalid tags and names are rejected before anything is written")
    func invalidMetadata() async throws {
        let fixture = try Fixture()
        let id = CachedFunction("id", version: "1") { (x: Int) in x }
        let badTag = await #expect(throws: CashetError.self) { try await fixture.client.submit(id, 1, tags: ["a\u{0}b": "c"]) }
        #expect(badTag?.code == .invalidArgument)
        let unnamed = CachedFunction("", version: "1") { (x: Int) in x }
        let badName = await #expect(throws: CashetError.self) { try await fixture.client.submit(unnamed, 1) }
        #expect(badName?.code == .invalidArgument)
        #expect(try await fixture.client.stats().commits == 0)
        let cli = try Products.cashet("--store", fixture.storePath, "log", "--tag", "novalue")
        #expect(cli.status == 2 && cli.stderr.contains("key=value"))
    }
}
