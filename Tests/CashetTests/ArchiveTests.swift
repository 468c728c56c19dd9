@testable import Cashet
import CashetTestSupport
import Foundation
import Testing

@Suite("export and import: one portable archive")
struct ArchiveTests {
    /// A store with small and file-sized results, a failed commit, tags and lineage.
    static func populated() async throws -> LargeBlobFixture {
        let fixture = try LargeBlobFixture()
        for seed in 0..<6 {
            _ = try await fixture.client.submit(LargeBlobFixture.payload, seed, seed < 2 ? 200_000 : 300, seed % 2 == 0, tags: ["batch": seed < 3 ? "a" : "b"])
        }
        _ = try await fixture.client.submit(LargeBlobFixture.payload, 2, 300, true, cache: false)   // a child commit
        let failing = CachedFunction("failing", version: "1") { (_: Int) throws -> [UInt8] in throw CashetError(.invalidArgument, "boom") }
        _ = try? await fixture.client.submit(failing, 1)
        return fixture
    }

    /// Everything `show --json` says about every commit, keyed by hash.
    static func snapshot(_ client: Client) async throws -> [String: String] {
        var result: [String: String] = [:]
        for commit in try await client.log() {
            let output = try commit.output.map { _ in try SHA256Hasher.hash(awaitBytes(client, commit)).hex } ?? "-"
            result[commit.hash.hex] = "\(commit.fingerprint) \(commit.parent?.hex ?? "-") \(commit.tags.sorted { $0.key < $1.key }) \(commit.status) \(commit.createdAt.timeIntervalSince1970) \(commit.task.source ?? "-") \(output)"
        }
        return result
    }

    private static func awaitBytes(_ client: Client, _ commit: Commit) throws -> [UInt8] {
        // Reads synchronously through the LMDB store (the snapshot helper is not async per commit).
        try (client.store as! LMDBStore).readBlob(commit.output!.hash)
    }

    @Test("a whole store round-trips through the CLI: same commits, lineage, tags, results; importing twice adds nothing")
    func roundTrip() async throws {
        let source = try await Self.populated()
        let archive = source.directory.child("all.cashet")
        let exported = try Products.cashet("export", archive, "--json", "--store", source.storePath)
        #expect(exported.status == 0, "\(exported.stderr)")
        let target = TemporaryDirectory()
        let imported = try Products.cashet("import", archive, "--json", "--store", target.child("store"))
        #expect(imported.status == 0, "\(imported.stderr)")
        let first = try #require(try JSONSerialization.jsonObject(with: Data(imported.stdout.utf8)) as? [String: Any])
        #expect(first["commits"] as? Int == 8 && first["commits_skipped"] as? Int == 0, "\(imported.stdout)")

        let copy = Client(store: try LMDBStore(target.child("store")), serializer: RawBytesSerializer())
        #expect(try await Self.snapshot(copy) == (try await Self.snapshot(source.client)))
        let (a, b) = (try await source.client.stats(), try await copy.stats())
        // Where a blob lives (inline or a file) is the target store's choice (its file threshold).
        #expect(a.commits == b.commits && a.blobs == b.blobs && a.logicalBytes == b.logicalBytes && a.functions == b.functions, "\(a) \(b)")
        #expect(try await copy.fsck().problems.isEmpty)
        // Hits in the new store: no execution.
        #expect(try await copy.submit(LargeBlobFixture.payload, 3, 300, false).wasCached)

        let again = try Products.cashet("import", archive, "--json", "--store", target.child("store"))
        let second = try #require(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])
        #expect(second["commits"] as? Int == 0 && second["commits_skipped"] as? Int == 8, "\(again.stdout)")
        var unchanged = b
        unchanged.hits += 1   // the hit above
        #expect(try await copy.stats() == unchanged)
    }

    @Test("--func and --tag export a part; an imported older commit does not replace a newer head")
    func filtered() async throws {
        let source = try await Self.populated()
        let archive = source.directory.child("part.cashet")
        let exported = try Products.cashet("export", archive, "--tag", "batch=a", "--func", "payload", "--store", source.storePath)
        #expect(exported.status == 0 && exported.stdout.contains("exported 3 commit(s)"), "\(exported.stdout) \(exported.stderr)")
        let target = TemporaryDirectory()
        #expect(try Products.cashet("import", archive, "--store", target.child("store")).status == 0)
        let copy = Client(store: try LMDBStore(target.child("store")), serializer: RawBytesSerializer())
        let tags = try await copy.log().map(\.tags)
        #expect(tags.count == 3 && tags.allSatisfy { $0 == ["batch": "a"] })

        // The child commit alone first, then everything: its older parent arrives but the head stays.
        let child = try #require(try await source.client.log(CommitQuery(functionName: "payload", limit: 1)).first)
        #expect(child.parent != nil)
        let newest = source.directory.child("newest.cashet")
        let full = source.directory.child("full.cashet")
        #expect(try await source.client.exportArchive(to: newest, matching: CommitQuery(functionName: "payload", limit: 1)).commits == 1)
        _ = try await source.client.exportArchive(to: full)
        let other = try LargeBlobFixture()
        #expect(try await other.client.importArchive(from: newest).commits == 1)
        #expect(try await other.client.importArchive(from: full).commits == 7)
        #expect(try await other.store.head(for: child.fingerprint)?.commit == child.hash)
        #expect(try await other.client.history(child.hash.hex).count == 2)
    }

    @Test("a damaged archive is refused whole, exit 3, and the store is untouched", arguments: ["truncated", "flipped", "garbage", "appended"])
    func damaged(_ damage: String) async throws {
        let source = try await Self.populated()
        let archive = source.directory.child("all.cashet")
        _ = try await source.client.exportArchive(to: archive)
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: archive)))
        switch damage {
        case "truncated": bytes.removeLast(bytes.count / 3)
        case "flipped": bytes[bytes.count / 2] ^= 0x20
        case "garbage": bytes = Array("not an archive at all".utf8)
        default: bytes += [0xFF, 0, 0]
        }
        try Data(bytes).write(to: URL(fileURLWithPath: archive))

        let target = try LargeBlobFixture()
        _ = try await target.client.submit(LargeBlobFixture.payload, 42, 300, true)
        let before = try await target.client.stats()
        await target.client.close()
        let digest = try fileDigest(target.storePath + "/data.mdb")
        let result = try Products.cashet("import", archive, "--store", target.storePath)
        #expect(result.status == 3, "\(damage): \(result.stdout) \(result.stderr)")
        #expect(result.stderr.contains(archive) && (result.stderr.contains("damaged") || result.stderr.contains("not a cashet archive")), "\(result.stderr)")
        #expect(try fileDigest(target.storePath + "/data.mdb") == digest)
        #expect(try await target.client.stats() == before)
    }

    @Test("import of a missing file or a directory names it; export to an unwritable place leaves nothing")
    func badPaths() async throws {
        let source = try await Self.populated()
        let missing = try Products.cashet("import", source.directory.child("nope.cashet"), "--store", source.storePath)
        #expect(missing.status == 1 && missing.stderr.contains("nope.cashet"), "\(missing.stderr)")
        let directory = try Products.cashet("import", source.directory.path, "--store", source.storePath)
        #expect(directory.status == 3 && directory.stderr.contains("not a regular file"), "\(directory.stderr)")
        let unwritable = try Products.cashet("export", source.directory.child("no/such/dir/a.cashet"), "--store", source.storePath)
        #expect(unwritable.status == 4 && unwritable.stderr.contains("no/such/dir"), "\(unwritable.stderr)")
    }

    @Test("a valid archive holding a result above the import limit is refused whole with .limitExceeded (exit 3); the target store is unchanged")
    func oversizeResult() async throws {
        let source = try await Self.populated()
        let archive = source.directory.child("all.cashet")
        #expect(try Products.cashet("export", archive, "--store", source.storePath).status == 0)
        let target = try Fixture()
        let square = CachedFunction("square", version: "1") { (x: Int) -> Int in x * x }
        _ = try await target.client.submit(square, 3)
        let before = try await target.client.stats()
        let digest = try fileDigest(target.storePath + "/data.mdb")

        let error = await #expect(throws: CashetError.self) { try await target.client.importArchive(from: archive, maxResultSize: 100_000) }
        #expect(error?.code == .limitExceeded, "\(String(describing: error))")
        #expect(error?.message.contains("is 200000 bytes, above the import limit of 100000 bytes; nothing was imported") == true, "\(String(describing: error))")
        let after = try await target.client.stats()
        #expect(try fileDigest(target.storePath + "/data.mdb") == digest && after == before)

        let cli = try Products.cashet("import", archive, "--max-result-size", "100K", "--store", target.storePath)
        #expect(cli.status == 3 && cli.stderr.contains("above the import limit of 102400 bytes"), "\(cli.stderr)")
        #expect(try Products.cashet("import", archive, "--max-result-size", "lots", "--store", target.storePath).status == 2)
        #expect(try Products.cashet("import", archive, "--max-result-size", "200K", "--store", target.storePath).status == 0)
    }
}
