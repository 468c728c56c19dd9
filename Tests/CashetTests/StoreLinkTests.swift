@testable import Cashet
import CashetTestSupport
import Foundation
import Testing

/// A directory outside the store full of files whose digests are known: whatever cashet does to a
/// store with a planted link, the canary must stay exactly as it was.
struct Canary {
    let path: String
    let digests: [String: String]

    init(in directory: TemporaryDirectory, name: String = "canary") throws {
        path = directory.child(name)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        var digests: [String: String] = [:]
        // Names that look like a store's own: a temp file of a dead writer, a blob file, a lease file.
        for name in ["2147480000-1", "00", "a1b2c3", "17", "lock", "precious.txt"] {
            let file = path + "/" + name
            try Data("canary \(name)\n".utf8).write(to: URL(fileURLWithPath: file))
            digests[name] = try fileDigest(file)
        }
        self.digests = digests
    }

    /// True when every file is there with its bytes, and nothing was added.
    var isUntouched: Bool {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path), Set(names) == Set(digests.keys) else { return false }
        return digests.allSatisfy { name, digest in (try? fileDigest(path + "/" + name)) == digest }
    }
}

@Suite("Links inside a store are never followed: nothing outside it is touched")
struct StoreLinkTests {
    /// Replaces `relative` (a directory of the store) with a link to the canary.
    static func plantLink(_ fixture: LargeBlobFixture, at relative: String, to canary: Canary) throws {
        let path = fixture.storePath + "/" + relative
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: canary.path)
    }

    @Test("gc and fsck --repair with objects/tmp, a shard or leases/ replaced by a link to another directory: the directory is untouched, fsck reports the link (exit 3), repair removes only the link",
          arguments: ["objects/tmp", "shard", "leases"])
    func linkedDirectory(_ which: String) async throws {
        let (fixture, a, b) = try await FaultInjectionTests.twoFiledResults()
        let canary = try Canary(in: fixture.directory)
        let relative = which == "shard" ? "objects/" + a.hash.hex.prefix(2) : which
        if which == "leases" { _ = try await fixture.client.submit(LargeBlobFixture.payload, 3, 10, true) }   // leases/ exists
        try Self.plantLink(fixture, at: relative, to: canary)

        for arguments in [["gc", "--older-than", "100"], ["gc", "--older-than", "0", "--dry-run"], ["gc"]] {
            let gc = try Products.run(Products.cli, arguments + ["--store", fixture.storePath])
            #expect(gc.status == 0 || gc.status == 3, "\(arguments): \(gc.stderr)")
            #expect(canary.isUntouched, "gc \(arguments) touched the directory a link pointed to")
        }
        let fsck = try Products.cashet("fsck", "--store", fixture.storePath)
        #expect(fsck.status == 3 && fsck.stdout.contains("symbolic-link") && fsck.stdout.contains(fixture.storePath + "/" + relative), "\(fsck.stdout) \(fsck.stderr)")
        let repair = try Products.cashet("fsck", "--repair", "--store", fixture.storePath)
        #expect(repair.stdout.contains("removed symbolic link"), "\(repair.stdout) \(repair.stderr)")
        #expect(canary.isUntouched, "fsck --repair touched the directory a link pointed to")
        #expect(!FileSystem.isSymbolicLink(fixture.storePath + "/" + relative))
        // The results whose files were not behind the link are still there.
        if which != "shard" || a.hash.hex.prefix(2) != b.hash.hex.prefix(2) {
            #expect(try await Client(path: fixture.storePath, serializer: RawBytesSerializer()).get(b.commit.hex) == LargeBlobFixture.expected(seed: 2, size: 300_000, compressible: false))
        }
        let clean = try Products.cashet("fsck", "--store", fixture.storePath)
        #expect(clean.status == 0, "\(clean.stdout) \(clean.stderr)")
    }

    @Test("data.mdb or lock.mdb replaced by a link: every command refuses with exit 3 naming the link, and the link's target is untouched",
          arguments: ["data.mdb", "lock.mdb"])
    func linkedLMDBFile(_ name: String) async throws {
        let (fixture, _, _) = try await FaultInjectionTests.twoFiledResults()
        let path = fixture.storePath + "/" + name
        let target = fixture.directory.child("target-" + name)
        try FileManager.default.copyItem(atPath: path, toPath: target)
        let digest = try fileDigest(target)
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target)
        for command in [["stats"], ["gc"], ["fsck", "--repair"], ["log"]] {
            let result = try Products.run(Products.cli, command + ["--store", fixture.storePath])
            #expect(result.status == 3 && result.stderr.contains("symbolic link") && result.stderr.contains(path), "\(command): \(result.stderr)")
        }
        #expect(try fileDigest(target) == digest)
    }

    @Test("export and get -o write through a fresh, unpredictable temporary file: a link planted at the old fixed name is not followed")
    func plantedTemporaryName() async throws {
        let (fixture, a, _) = try await FaultInjectionTests.twoFiledResults()
        let victim = fixture.directory.child("victim")
        try Data("do not overwrite\n".utf8).write(to: URL(fileURLWithPath: victim))
        let digest = try fileDigest(victim)
        let output = fixture.directory.child("result.bin")
        let archive = fixture.directory.child("all.cashet")
        // The name the earlier code always used: `<destination>.cashet-partial-<pid>`.
        for destination in [output, archive] {
            try FileManager.default.createSymbolicLink(atPath: destination + ".cashet-partial-\(getpid())", withDestinationPath: victim)
        }
        try await fixture.client.get(a.commit.hex, to: output)
        _ = try await fixture.client.exportArchive(to: archive)
        #expect(try fileDigest(victim) == digest, "a planted link redirected the write")
        #expect(try Data(contentsOf: URL(fileURLWithPath: output)) == Data(LargeBlobFixture.expected(seed: 1, size: 300_000, compressible: false)))
        #expect(try ArchiveFile.open(archive).size > 0)
    }
}
