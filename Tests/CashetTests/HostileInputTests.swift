@testable import Cashet
import CashetTestSupport
import Foundation
import Testing

@Suite("Hostile and careless input: store paths, terminal escapes, recorded sizes")
struct HostileInputTests {
    @Test("every store path works, relative and absolute: '.', 'x', './x', '../x', a name with spaces, through --store, CASHET_DIR and cashet-demo",
          arguments: [".", "x", "./x", "../x", "my store", "ABSOLUTE"])
    func storePaths(_ given: String) throws {
        let directory = TemporaryDirectory()
        let work = directory.child("work")
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let path = given == "ABSOLUTE" ? directory.child("absolute") : given
        // Submit through the helper (creates the store), then read it back through the CLI both ways.
        let submitted = try Products.run(Products.helper, ["submit", path, "7", directory.child("log")], in: work)
        #expect(submitted.status == 0 && submitted.stdout.hasPrefix("49 miss"), "\(submitted.stdout) \(submitted.stderr)")
        let viaOption = try Products.run(Products.cli, ["--store", path, "stats", "--json"], in: work)
        #expect(viaOption.status == 0 && viaOption.stdout.contains("\"commits\":1"), "\(viaOption.stderr)")
        let viaEnvironment = try Products.run(Products.cli, ["log"], in: work, environment: ["CASHET_DIR": path])
        #expect(viaEnvironment.status == 0, "\(viaEnvironment.stderr)")
        let demoStore = given == "." ? "demo" : path + "-demo"
        let demo = try Products.run(Products.executable("cashet-demo"), ["--store", demoStore, "--chunks", "20", "--changed", "2"], in: work)
        #expect(demo.status == 0, "\(demo.stdout) \(demo.stderr)")
    }

    @Test("control characters in names, tags, arguments, errors and sources are shown escaped by log, show, history and diff, never sent raw to the terminal")
    func terminalEscapes() async throws {
        let directory = TemporaryDirectory()
        let store = directory.child("store")
        let client = try Client(path: store)
        let hostile = "\u{1B}]0;pwned\u{07}\u{1B}[2J\u{9B}31m\u{202E}"
        let function = CachedFunction(identity: FunctionIdentity(name: "clear\(hostile)", hash: SHA256Hasher.hash(Array("hostile".utf8)), source: "func f() {\n  \(hostile)\n}")) { (x: String) -> Int in
            if x == "fail" { throw CashetError(.invalidArgument, "bad \(hostile)") }
            return x.count
        }
        let first = try await client.submit(function, "a\(hostile)", tags: ["k\(hostile)": "v\(hostile)"])
        let second = try await client.submit(function, "a\(hostile)", cache: false)
        _ = try? await client.submit(function, "fail")
        let commands = [["log"], ["show", first.commit.hex], ["history", first.commit.hex], ["diff", first.commit.hex, second.commit.hex]]
        for command in commands {
            let result = try Products.run(Products.cli, command + ["--store", store])
            #expect(result.status == 0, "\(command): \(result.stderr)")
            let controls = result.stdout.unicodeScalars.filter { ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || (0x7F..<0xA0).contains($0.value) || $0.value == 0x202E }
            #expect(controls.isEmpty, "\(command) printed raw control characters: \(controls.map { String($0.value, radix: 16) })")
        }
        let shown = try Products.cashet("show", first.commit.hex, "--store", store).stdout
        #expect(shown.contains("\\x1B]0;pwned\\x07") && shown.contains("\\u{202E}"), "\(shown)")
    }

    @Test("a recorded size far beyond the stored bytes is damage (exit 3), never an allocation that crashes: inline and file blobs",
          arguments: [5_000, 300_000])
    func lyingSize(_ size: Int) async throws {
        let fixture = try LargeBlobFixture()
        let ref = try await fixture.client.submit(LargeBlobFixture.payload, 1, size, true)
        try fixture.store.writing("damaging a size record") { txn in
            var info = try StoreRecords.BlobInfo(try #require(try txn.get(fixture.store.tables.blobInfo, ref.hash.bytes)))
            info.size = 1 << 42
            try txn.put(fixture.store.tables.blobInfo, ref.hash.bytes, info.bytes)
        }
        let get = try Products.cashet("get", ref.commit.hex, "-o", fixture.directory.child("out"), "--store", fixture.storePath)
        #expect(get.status == 3, "\(get.status) \(get.stderr)")
        let fsck = try Products.cashet("fsck", "--store", fixture.storePath)
        #expect(fsck.status == 3 && fsck.stdout.contains(ref.hash.hex), "\(fsck.status) \(fsck.stdout) \(fsck.stderr)")
    }
}
