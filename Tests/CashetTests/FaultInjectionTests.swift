@testable import Cashet
import CashetTestSupport
import Foundation
import Testing

/// Faults from outside the process — full disks, limits, permissions, files swapped under the
/// store, dead processes' locks, copies taken mid-write — each met with a typed error or a
/// recovery, and never with damage to what was committed before.
@Suite("Fault injection")
struct FaultInjectionTests {
    /// What the `fill` helper stored before its first failure, and that failure.
    struct FillOutcome {
        var stored: [(commit: String, hash: String)] = []
        var error: String?
    }

    static func fill(_ store: String, limit: Int, step: Int) throws -> FillOutcome {
        let result = try Products.run(Products.helper, ["fill", store, "\(limit)", "\(step)"])
        #expect(result.status == 0, "\(result.stderr)")
        var outcome = FillOutcome()
        for line in result.stdout.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 2)
            if fields.first == "stored", fields.count == 3 { outcome.stored.append((String(fields[1]), String(fields[2]))) }
            if fields.first == "error" { outcome.error = String(line.dropFirst(6)) }
        }
        return outcome
    }

    /// Opens the store afresh and checks that fsck finds no damage and every stored result
    /// loads with the SHA-256 it was stored under.
    static func expectIntact(_ storePath: String, _ stored: [(commit: String, hash: String)]) async throws {
        let client = Client(store: try LMDBStore(storePath), serializer: RawBytesSerializer())
        let report = try await client.fsck()
        #expect(!report.foundDamage, "\(report.problems)")
        for (commit, hash) in stored {
            #expect(SHA256Hasher.hash(try await client.get(commit)).hex == hash, "commit \(commit)")
        }
        await client.close()
    }

    /// The helper's function, by the same name and version, so the test can repeat its calls.
    static let sized = CachedFunction("sized", version: "1") { (count: Int) -> [UInt8] in TestPayload.incompressible(count, seed: UInt64(count)) }

    @Test("a file-size limit (RLIMIT_FSIZE) gives .outOfSpace from LMDB's data file and from a blob file; nothing committed is lost",
          arguments: [(limit: 3 << 20, step: 96 << 10, failing: "committing a write transaction failed in ", reason: "data.mdb reached the process's file-size limit (RLIMIT_FSIZE, 3145728 bytes)"),
                      (limit: 5 << 20, step: 1200 << 10, failing: "cannot write ", reason: "File too large (errno 27)")])
    func fileSizeLimit(limit: Int, step: Int, failing: String, reason: String) async throws {
        let directory = TemporaryDirectory()
        let storePath = directory.child("store")
        let outcome = try Self.fill(storePath, limit: limit, step: step)
        #expect(outcome.stored.count >= 2, "the limit came too soon to prove anything")
        let error = try #require(outcome.error)
        #expect(error.hasPrefix("out of space: " + failing + storePath) && error.hasSuffix(reason), "\(error)")
        try await Self.expectIntact(storePath, outcome.stored)
        // Without the limit the same store takes the write that failed.
        let client = Client(store: try LMDBStore(storePath), serializer: RawBytesSerializer())
        let retried = try await client.submit(Self.sized, (outcome.stored.count + 1) * step)
        #expect(!retried.wasCached && retried.size == (outcome.stored.count + 1) * step)
    }

    @Test("a full file system (a small tmpfs) gives .outOfSpace; results stored before it load bit-exactly, and freeing space lets writes go on")
    func fullFileSystem() async throws {
        let directory = TemporaryDirectory()
        let mountPoint = directory.child("tmpfs")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mount = try Products.run("/bin/mount", ["-t", "tmpfs", "-o", "size=12m", "tmpfs", mountPoint])
        guard mount.status == 0 else {
            // Mounting needs CAP_SYS_ADMIN; `fileSizeLimit` covers the same errors through RLIMIT_FSIZE.
            print("fullFileSystem: cannot mount a tmpfs here (\(mount.stderr.trimmingCharacters(in: .whitespacesAndNewlines))); covered by fileSizeLimit")
            return
        }
        defer { _ = try? Products.run("/bin/umount", ["-l", mountPoint]) }
        let storePath = mountPoint + "/store"
        let outcome = try Self.fill(storePath, limit: 0, step: 1 << 20)
        #expect(outcome.stored.count >= 2)
        let error = try #require(outcome.error)
        #expect(error.hasPrefix("out of space: ") && error.contains("No space left on device") && error.contains(storePath), "\(error)")
        try await Self.expectIntact(storePath, outcome.stored)

        let client = Client(store: try LMDBStore(storePath), serializer: RawBytesSerializer())
        let first = try #require(outcome.stored.last)
        _ = try await client.rm(first.commit)
        let small = CachedFunction("small", version: "1") { (x: Int) -> [UInt8] in Array(repeating: UInt8(x), count: 100) }
        #expect(try await client.submit(small, 7).load() == Array(repeating: 7, count: 100))
    }

    /// Submits `function(argument(n))` for n = 1, 2, … until a call fails or `calls` have been
    /// made; returns what was stored and the failure.
    static func submitUntilFailure(_ client: Client, _ function: CachedFunction<Int, [UInt8]>, calls: Int = .max,
                                   argument: (Int) -> Int) async -> (stored: [ResultRef<[UInt8]>], failure: CashetError?) {
        var stored: [ResultRef<[UInt8]>] = []
        for n in 1...calls {
            do {
                stored.append(try await client.submit(function, argument(n)))
            } catch {
                return (stored, error)
            }
        }
        return (stored, nil)
    }

    @Test("the LMDB map reaching maxMapSize gives .outOfSpace naming the limit; a larger limit lets the same store go on")
    func mapLimit() async throws {
        let directory = TemporaryDirectory()
        let storePath = directory.child("store")
        var configuration = LMDBStore.Configuration()
        configuration.initialMapSize = 1 << 20
        configuration.maxMapSize = 2 << 20
        let stored: [(commit: String, hash: String)]
        let failure: CashetError?
        do {
            let client = Client(store: try LMDBStore(storePath, configuration: configuration), serializer: RawBytesSerializer())
            let filled = await Self.submitUntilFailure(client, Self.sized, calls: 100) { round in round * 1000 + 60_000 }
            (stored, failure) = (filled.stored.map { ($0.commit.hex, $0.hash.hex) }, filled.failure)
            // The failed write left the store usable: reads go on in the same process.
            for (commit, hash) in stored {
                #expect(SHA256Hasher.hash(try await client.get(commit)).hex == hash)
            }
        }
        let error = try #require(failure)
        #expect(error.code == .outOfSpace)
        #expect(error.message.contains("map limit") && error.message.contains("maxMapSize") && error.message.contains(storePath), "\(error)")
        #expect(stored.count >= 5)
        try await Self.expectIntact(storePath, stored)

        configuration.maxMapSize = 64 << 20
        let client = Client(store: try LMDBStore(storePath, configuration: configuration), serializer: RawBytesSerializer())
        let ref = try await client.submit(Self.sized, (stored.count + 1) * 1000 + 60_000)
        let bytes = try await ref.loadBytes()
        #expect(ref.wasCached == false && SHA256Hasher.hash(bytes) == ref.hash)
    }

    @Test("a store filled to its map limit can still be emptied once the limit is raised: deletions grow the map too")
    func deletionsGrowTheMap() async throws {
        let directory = TemporaryDirectory()
        let storePath = directory.child("store")
        var configuration = LMDBStore.Configuration()
        configuration.initialMapSize = 1 << 20
        configuration.maxMapSize = 1 << 20
        let stored: Int
        do {
            let client = Client(store: try LMDBStore(storePath, configuration: configuration), serializer: RawBytesSerializer())
            let small = CachedFunction("small", version: "1") { (x: Int) -> [UInt8] in Array("result \(x)".utf8) }
            let filled = await Self.submitUntilFailure(client, small) { $0 }
            stored = filled.stored.count
            #expect(filled.failure?.code == .outOfSpace)
        }
        #expect(stored > 500)
        configuration.maxMapSize = 64 << 20
        let client = Client(store: try LMDBStore(storePath, configuration: configuration), serializer: RawBytesSerializer())
        let report = try await client.gc(EvictionPolicy(olderThan: Date().addingTimeInterval(60)))
        #expect(report.commitsRemoved == stored)
        let stats = try await client.stats()
        #expect(stats.commits == 0 && stats.blobs == 0)
    }

    /// A large result A and B in a store whose blob files start at 64 KiB.
    static func twoFiledResults() async throws -> (LargeBlobFixture, a: ResultRef<[UInt8]>, b: ResultRef<[UInt8]>) {
        let fixture = try LargeBlobFixture()
        _ = try await fixture.client.submit(LargeBlobFixture.payload, 1, 300_000, false)
        _ = try await fixture.client.submit(LargeBlobFixture.payload, 2, 300_000, false)
        // Hits: refs that read their files (a miss's ref carries the bytes it recorded).
        let a = try await fixture.client.submit(LargeBlobFixture.payload, 1, 300_000, false)
        let b = try await fixture.client.submit(LargeBlobFixture.payload, 2, 300_000, false)
        #expect(a.wasCached && b.wasCached)
        #expect(FileManager.default.fileExists(atPath: fixture.store.files.path(of: a.hash)))
        return (fixture, a, b)
    }

    @Test("a blob file replaced by a directory is reported as corrupt data, fsck names it, --repair removes it, and a rerun restores the result")
    func blobFileReplacedByDirectory() async throws {
        let (fixture, a, b) = try await Self.twoFiledResults()
        let path = fixture.store.files.path(of: a.hash)
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path + "/inner", withIntermediateDirectories: true)

        let error = await #expect(throws: CashetError.self) { try await a.loadBytes() }
        #expect(error?.code == .corruptData && error?.message.contains("not a regular file") == true && error?.message.contains(path) == true, "\(String(describing: error))")
        #expect(SHA256Hasher.hash(try await b.loadBytes()) == b.hash)

        let report = try await fixture.client.fsck()
        #expect(report.problems.map(\.kind) == [.damagedBlob] && report.problems[0].detail.contains("not a regular file"), "\(report.problems)")
        let repaired = try await fixture.client.fsck(repair: true)
        #expect(repaired.unrepaired.isEmpty && !FileManager.default.fileExists(atPath: path), "\(repaired.repairs)")
        let rerun = try await fixture.client.submit(LargeBlobFixture.payload, 1, 300_000, false)
        let bytes = try await rerun.loadBytes()
        #expect(!rerun.wasCached && SHA256Hasher.hash(bytes) == a.hash)
        #expect(try await fixture.client.fsck().problems.isEmpty)
    }

    @Test("a blob file replaced by a symbolic link out of the store is never followed, even to the right bytes; repair removes the link, not its target")
    func blobFileReplacedBySymlink() async throws {
        let (fixture, a, b) = try await Self.twoFiledResults()
        let path = fixture.store.files.path(of: a.hash)
        // The link points at a faithful copy: following it would even "work", which is the danger.
        let outside = fixture.directory.child("outside")
        try FileManager.default.copyItem(atPath: path, toPath: outside)
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: outside)

        let error = await #expect(throws: CashetError.self) { try await a.loadBytes() }
        #expect(error?.code == .corruptData && error?.message.contains("symbolic link") == true && error?.message.contains(path) == true, "\(String(describing: error))")
        #expect(SHA256Hasher.hash(try await b.loadBytes()) == b.hash)
        let cli = try Products.cashet("get", a.commit.hex, "--store", fixture.storePath)
        #expect(cli.status == 3 && cli.stderr.contains("symbolic link"), "\(cli.stderr)")

        let repaired = try await fixture.client.fsck(repair: true)
        #expect(repaired.problems.map(\.kind) == [.damagedBlob] && repaired.unrepaired.isEmpty, "\(repaired.problems)")
        #expect(!FileSystem.isSymbolicLink(path) && FileManager.default.fileExists(atPath: outside))
    }

    @Test("a store directory the user cannot write gives .permissionDenied naming the store; nothing changes and reads still work")
    func readOnlyStoreDirectory() async throws {
        let fixture = try Fixture()
        let square = CachedFunction("square", version: "1") { (x: Int) -> Int in x * x }
        let kept = try await fixture.client.submit(square, 4)
        await fixture.client.close()
        // Root ignores permissions, so the writer runs as `nobody` then; otherwise write permission goes.
        let asRoot = getuid() == 0
        let tree = [fixture.directory.path, fixture.storePath, fixture.storePath + "/data.mdb", fixture.storePath + "/lock.mdb"]
        for path in tree {
            let isDirectory = !path.hasSuffix(".mdb")
            try FileManager.default.setAttributes([.posixPermissions: asRoot ? (isDirectory ? 0o755 : 0o644) : (isDirectory ? 0o555 : 0o444)], ofItemAtPath: path)
        }
        defer { for path in tree { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path) } }
        let before = try fileDigest(fixture.storePath + "/data.mdb")

        let helper = [Products.helper, "submit", fixture.storePath, "9", fixture.directory.child("log")]
        let result = asRoot ? try Products.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--"] + helper)
                            : try Products.run(helper[0], Array(helper.dropFirst()))
        #expect(result.status == 2)
        #expect(result.stderr.contains("permission denied: cannot open the store at \(fixture.storePath) for writing: Permission denied"), "\(result.stderr)")
        #expect(try fileDigest(fixture.storePath + "/data.mdb") == before)

        var readOnly = LMDBStore.Configuration()
        readOnly.readOnly = true
        let reader = Client(store: try LMDBStore(fixture.storePath, configuration: readOnly))
        #expect(try await reader.show(kept.commit.hex).output?.hash == kept.hash)
    }

    @Test("new stores are private to their owner (0700 directories, 0600 files) unless group sharing is configured")
    func privatePermissions() async throws {
        let umask = try Self.processUmask()
        for (permissions, directoryMode, fileMode) in [(StorePermissions.owner, 0o700, 0o600), (.group, 0o770, 0o660)] {
            let directory = TemporaryDirectory()
            var configuration = LMDBStore.Configuration()
            configuration.fileThreshold = 64 << 10
            configuration.permissions = permissions
            let store = try LMDBStore(directory.child("store"), configuration: configuration)
            let client = Client(store: store, serializer: RawBytesSerializer())
            let ref = try await client.submit(LargeBlobFixture.payload, 1, 200_000, false)
            let blobFile = store.files.path(of: ref.hash)
            let root = directory.child("store")
            let leaseFile = root + "/leases/" + (try #require(try FileManager.default.contentsOfDirectory(atPath: root + "/leases").first))
            let expected: [(String, Int)] = [
                (root, directoryMode), (root + "/objects", directoryMode), (root + "/objects/tmp", directoryMode),
                (root + "/leases", directoryMode), ((blobFile as NSString).deletingLastPathComponent, directoryMode),
                (root + "/data.mdb", fileMode), (root + "/lock.mdb", fileMode), (root + "/objects/lock", fileMode),
                (leaseFile, fileMode), (blobFile, fileMode),
            ]
            for (path, mode) in expected {
                let actual = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
                #expect(actual == mode & ~umask, "\(permissions) \(path): \(String(actual ?? -1, radix: 8))")
            }
        }
    }

    /// The umask, read without changing it (other tests create files concurrently).
    static func processUmask() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("Umask:") })
        return try #require(Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces), radix: 8))
    }
}
