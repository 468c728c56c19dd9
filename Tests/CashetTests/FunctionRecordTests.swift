@testable import Cashet
import CashetTestSupport
import Foundation
import Testing

@Suite("Function records: source and identity manifest, stored once per function")
struct FunctionRecordTests {
    static let manifest = IdentityManifest(
        hash: String(repeating: "12", count: 32),
        helpers: [IdentityManifest.Helper(module: "Core", kind: "func", signature: "normalize(_:)", file: "Core/Text.swift", line: 4, hash: String(repeating: "ab", count: 32))],
        dependencies: [IdentityManifest.Dependency(package: "numerics-lite", version: "1.0.0", revision: "")],
        ignoredDependencies: ["swift-log"])

    @Test("a record without a manifest is byte for byte what earlier releases wrote; one with a manifest round-trips and is canonical")
    func encoding() throws {
        let legacy = CanonicalCommit.encodeFunction(name: "f", version: "2", details: FunctionDetails(source: "func f() {}"))
        // Version byte, then length-prefixed name and version, a source flag and the source.
        #expect(legacy == [1, 1] + Array("f".utf8) + [1] + Array("2".utf8) + [1, 11] + Array("func f() {}".utf8))
        let full = CanonicalCommit.encodeFunction(name: "f", version: "2", details: FunctionDetails(source: "func f() {}", manifest: Self.manifest))
        let decoded = try CanonicalCommit.decodeCanonicalFunction(full)
        #expect(decoded.name == "f" && decoded.version == "2" && decoded.details.manifest == Self.manifest)
        let read = try CanonicalCommit.decodeFunction(full)
        #expect(read.name == "f" && read.details.source != nil && read.details.manifest != nil)
        #expect(try CanonicalCommit.decodeFunction(legacy).details.manifest == nil)
        let bare = CanonicalCommit.encodeFunction(name: "g", version: "", details: FunctionDetails(manifest: Self.manifest))
        #expect(try CanonicalCommit.decodeCanonicalFunction(bare).details == FunctionDetails(manifest: Self.manifest))
    }

    @Test("a damaged manifest is corrupt data, never a silent half-read", arguments: [
        "helper\tCore\tfunc\tnormalize(_:)\tCore/Text.swift\tfour\tab",   // a line number that is not one
        "helper\tCore\tfunc",                                              // too few fields
        "something\telse",                                                  // not a kind of line
    ])
    func damagedManifest(line: String) throws {
        var bytes = CanonicalCommit.encodeFunction(name: "f", version: "", details: FunctionDetails(source: "x"))
        var tail = ByteWriter(capacity: 64)
        tail.append(1)
        tail.appendString("hash")
        tail.appendString(line)
        bytes += tail.bytes
        #expect(throws: CashetError.self) { try CanonicalCommit.decodeCanonicalFunction(bytes) }
        #expect(throws: CashetError.self) { try CanonicalCommit.decodeFunctionDetails(bytes) }
    }

    @Test("a later run with a manifest fills a record that had none; rebuilding an LMDB store keeps every manifest")
    func fillAndRebuild() async throws {
        let directory = TemporaryDirectory()
        let path = directory.child("store")
        let plain = FunctionIdentity(name: "shaped", sourceHash: "5f1e", helpersHash: Self.manifest.hash, version: "", source: "func shaped() {}")
        let explained = FunctionIdentity(name: "shaped", sourceHash: "5f1e", manifest: Self.manifest, version: "", source: "func shaped() {}")
        #expect(plain.hash == explained.hash)
        // Each step opens the store, submits, and lets go of everything (a result holds its store).
        func submit(_ identity: FunctionIdentity, _ x: Int) async throws -> ContentHash {
            let client = Client(store: try LMDBStore(path))
            let commit = try await client.submit(CachedFunction(identity: identity) { (x: Int) in x }, x).commit
            await client.close()
            return commit
        }
        func manifest(of commit: ContentHash) async throws -> IdentityManifest? {
            let client = Client(store: try LMDBStore(path))
            let manifest = try await client.show(commit.hex).task.identityManifest
            await client.close()
            return manifest
        }
        let first = try await submit(plain, 1)
        #expect(try await manifest(of: first) == nil)
        let second = try await submit(explained, 2)
        #expect(try await manifest(of: first) == Self.manifest)
        _ = try LMDBStore.rebuild(at: path)
        #expect(try await manifest(of: second) == Self.manifest)
    }

    @Test("a large manifest goes to data.mdb once, not into the journal with every miss; commits read from the journal still show it, in this process and in a read-only cashet")
    func manifestsStayOutOfTheJournal() async throws {
        let helpers = (0..<2_000).map { IdentityManifest.Helper(module: "Core", kind: "var", signature: "Model\($0).doubled", file: "Core/File\($0).swift", line: 6, hash: String(repeating: "ab", count: 32)) }
        let manifest = IdentityManifest(hash: String(repeating: "34", count: 32), helpers: helpers)
        #expect(manifest.encoded.utf8.count > 200_000)
        let identity = FunctionIdentity(name: "wide", sourceHash: "5f1e", manifest: manifest, version: "", source: "func wide(_ x: Int) -> Int { x }")
        let (directory, path, _, client) = try JournalTests.journaledStore()
        _ = directory
        var commits: [ContentHash] = []
        for x in 0..<20 { commits.append(try await client.submit(CachedFunction(identity: identity) { (x: Int) in x }, x).commit) }
        // Twenty journal entries, each far smaller than the manifest.
        let journal = try JournalTests.journalSize(path)
        #expect(journal < 20 * 1_000, "journal of \(journal) bytes")
        #expect(try await client.show(commits[7].hex).task.identityManifest == manifest)
        let shown = try Products.cashet("--store", path, "show", "--json", commits[3].hex)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        #expect(((object["identity"] as? [String: Any])?["helpers"] as? [Any])?.count == 2_000, "\(shown.stderr)")
        await client.close()
    }
}
