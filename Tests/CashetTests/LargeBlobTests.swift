@testable import Cashet
import CashetTestSupport
import Foundation
import Testing

/// A store whose blobs from 64 KiB up go to files, with a client storing raw bytes.
struct LargeBlobFixture {
    let directory = TemporaryDirectory()
    let store: LMDBStore
    let client: Client
    var storePath: String { directory.child("store") }

    init(prehashCapacity: Int = 4096) throws {
        var configuration = LMDBStore.Configuration()
        configuration.initialMapSize = 8 << 20
        configuration.fileThreshold = 64 << 10
        configuration.prehashCapacity = prehashCapacity
        store = try LMDBStore(directory.child("store"), configuration: configuration)
        client = Client(store: store, serializer: RawBytesSerializer())
    }

    /// Every file under a shard directory of `objects/`.
    func objectFiles() throws -> [String] {
        let root = storePath + "/objects"
        return try FileManager.default.contentsOfDirectory(atPath: root).filter { $0.count == 2 }.sorted().flatMap { shard in
            try FileManager.default.contentsOfDirectory(atPath: root + "/" + shard).sorted().map { root + "/" + shard + "/" + $0 }
        }
    }

    /// Leaves a dead writer's temp file, a live writer's temp file and an orphan final file; returns their paths.
    func plantLeftovers() throws -> (abandoned: String, live: String, orphan: String) {
        let abandoned = storePath + "/objects/tmp/2147480000-1"   // a pid far above pid_max
        try Data(repeating: 7, count: 1000).write(to: URL(fileURLWithPath: abandoned))
        let live = storePath + "/objects/tmp/\(getpid())-1"
        try Data(repeating: 2, count: 10).write(to: URL(fileURLWithPath: live))
        let orphanHash = SHA256Hasher.hash(Array("orphan".utf8))
        try FileManager.default.createDirectory(atPath: store.files.path + "/" + orphanHash.hex.prefix(2), withIntermediateDirectories: true)
        let orphan = store.files.path(of: orphanHash)
        try Data(repeating: 1, count: 100).write(to: URL(fileURLWithPath: orphan))
        return (abandoned, live, orphan)
    }

    /// Bytes of a payload and a function producing them, named so tests can share outputs across calls.
    static let payload = CachedFunction("payload", version: "1") { (seed: Int, size: Int, compressible: Bool) -> [UInt8] in
        expected(seed: seed, size: size, compressible: compressible)
    }

    static func expected(seed: Int, size: Int, compressible: Bool) -> [UInt8] {
        compressible ? TestPayload.compressible(size, seed: UInt64(seed)) : TestPayload.incompressible(size, seed: UInt64(seed))
    }
}

/// Ways a blob file gets damaged on disk.
enum FileDamage: String, CaseIterable, CustomTestStringConvertible {
    case flippedByte, truncated, deleted, extended
    var testDescription: String { rawValue }

    func apply(to path: String) throws {
        let url = URL(fileURLWithPath: path)
        switch self {
        case .deleted:
            try FileManager.default.removeItem(at: url)
        case .flippedByte:
            var data = try Data(contentsOf: url)
            data[data.count / 2] ^= 0x40
            try data.write(to: url)
        case .truncated:
            let data = try Data(contentsOf: url)
            try data.prefix(data.count - 1000).write(to: url)
        case .extended:
            var data = try Data(contentsOf: url)
            data.append(contentsOf: [1, 2, 3])
            try data.write(to: url)
        }
    }
}

@Suite("Large blobs: files, deduplication, damage, fsck")
struct LargeBlobTests {
    @Test("a large result round-trips bit-exactly through a sharded file, compressed only when it pays", arguments: [true, false])
    func roundTrip(compressible: Bool) async throws {
        let fixture = try LargeBlobFixture()
        let size = 3_500_000   // several streaming buffers
        let ref = try await fixture.client.submit(LargeBlobFixture.payload, 7, size, compressible)
        let expected = LargeBlobFixture.expected(seed: 7, size: size, compressible: compressible)
        #expect(try await ref.loadBytes() == expected)

        let files = try fixture.objectFiles()
        #expect(files == [fixture.storePath + "/objects/" + ref.hash.hex.prefix(2) + "/" + ref.hash.hex.dropFirst(2)])
        let onDisk = try FileManager.default.attributesOfItem(atPath: files[0])[.size] as! Int
        if compressible {
            #expect(onDisk < size / 3)
        } else {
            #expect(try Data(contentsOf: URL(fileURLWithPath: files[0])) == Data(expected))  // raw: the bytes themselves
        }
        #expect(try await fixture.client.stats().fileBlobs == 1)

        // A fresh store instance (as after a restart) reads the same bytes.
        let reopened = Client(store: try LMDBStore(fixture.storePath), serializer: RawBytesSerializer())
        let hit = try await reopened.submit(LargeBlobFixture.payload, 7, size, compressible)
        #expect(hit.wasCached && hit.hash == ref.hash)
        #expect(try await hit.loadBytes() == expected)
    }

    @Test("submit's miss hands back the bytes it recorded: its load reads no file (even one removed since), a later hit reads the file")
    func missCarriesItsBytes() async throws {
        let fixture = try LargeBlobFixture()
        let expected = LargeBlobFixture.expected(seed: 5, size: 1 << 20, compressible: false)
        let ran = try await fixture.client.submit(LargeBlobFixture.payload, 5, 1 << 20, false)
        #expect(!ran.wasCached)
        let file = fixture.store.files.path(of: ran.hash)
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == Data(expected))
        try FileManager.default.removeItem(atPath: file)
        #expect(try await ran.loadBytes() == expected)
        let hit = try await fixture.client.submit(LargeBlobFixture.payload, 5, 1 << 20, false)
        #expect(hit.wasCached && hit.hash == ran.hash)
        let error = await #expect(throws: CashetError.self) { try await hit.loadBytes() }
        #expect(error?.code == .corruptData)
    }

    @Test("identical large results share one file, and a repeat store does not rewrite it (known to the prehash memo, or found in the store)",
          arguments: [4096, 0])
    func deduplication(prehashCapacity: Int) async throws {
        let fixture = try LargeBlobFixture(prehashCapacity: prehashCapacity)
        let copy = CachedFunction("copy", version: "1") { (seed: Int) -> [UInt8] in LargeBlobFixture.expected(seed: seed, size: 1 << 20, compressible: true) }
        let a = try await fixture.client.submit(LargeBlobFixture.payload, 3, 1 << 20, true)
        let file = try fixture.objectFiles()[0]
        let inode = try FileManager.default.attributesOfItem(atPath: file)[.systemFileNumber] as! UInt64
        let b = try await fixture.client.submit(copy, 3)
        #expect(a.hash == b.hash && a.commit != b.commit)
        #expect(try fixture.objectFiles() == [file])
        #expect(try FileManager.default.attributesOfItem(atPath: file)[.systemFileNumber] as! UInt64 == inode)
        let stats = try await fixture.client.stats()
        #expect(stats.blobs == 1 && stats.fileBlobs == 1 && stats.commits == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.storePath + "/objects/tmp").isEmpty)
    }

    @Test("a file goes only with its last reference; gc sweeps unreferenced blob files")
    func removalFollowsReferences() async throws {
        let fixture = try LargeBlobFixture()
        let a = try await fixture.client.submit(LargeBlobFixture.payload, 5, 300_000, false)
        let b = try await fixture.client.submit(LargeBlobFixture.payload, 5, 300_000, false, cache: false)
        #expect(a.hash == b.hash)
        let file = try fixture.objectFiles()[0]

        _ = try await fixture.client.rm(a.commit.hex)
        #expect(FileManager.default.fileExists(atPath: file))
        #expect(try await b.loadBytes().count == 300_000)
        let report = try await fixture.client.rm(b.commit.hex)
        #expect(report.blobsRemoved == 1)
        #expect(!FileManager.default.fileExists(atPath: file))
        let emptied = try await fixture.client.stats()
        #expect(emptied == StoreStats(hits: emptied.hits, misses: emptied.misses, diskBytes: emptied.diskBytes))

        let orphan = try await fixture.store.putBlob(TestPayload.compressible(200_000, seed: 9))
        #expect(try fixture.objectFiles().count == 1)
        _ = try await fixture.client.gc(olderThan: Date.distantPast)
        #expect(try fixture.objectFiles().isEmpty)
        await #expect(throws: CashetError.self) { try await fixture.store.blob(orphan.hash) }
    }

    @Test("a damaged blob file is a typed error on load and export, never wrong bytes; fsck reports it and --repair removes only what it damaged",
          arguments: FileDamage.allCases, [true, false])
    func damage(_ damage: FileDamage, compressible: Bool) async throws {
        let fixture = try LargeBlobFixture()
        let victim = try await fixture.client.submit(LargeBlobFixture.payload, 1, 2_000_000, compressible)
        let healthy = try await fixture.client.submit(LargeBlobFixture.payload, 2, 2_000_000, compressible)
        let small = try await fixture.client.submit(LargeBlobFixture.payload, 3, 100, compressible)
        #expect(try await fixture.client.fsck().problems.isEmpty)

        try damage.apply(to: fixture.store.files.path(of: victim.hash))
        // `victim` carries the bytes its miss encoded; a hit's ref reads the file.
        let damagedHit = try await fixture.client.submit(LargeBlobFixture.payload, 1, 2_000_000, compressible)
        #expect(damagedHit.wasCached)
        let error = await #expect(throws: CashetError.self) { try await damagedHit.loadBytes() }
        #expect(error?.code == .corruptData)
        // An export of the damaged result leaves the file it would replace as it was.
        let exported = fixture.directory.child("out.bin")
        try Data("previous".utf8).write(to: URL(fileURLWithPath: exported))
        await #expect(throws: CashetError.self) { try await fixture.client.get(victim.commit.hex, to: exported) }
        #expect(try String(contentsOfFile: exported, encoding: .utf8) == "previous")
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.directory.path).sorted() == ["out.bin", "store"])

        let report = try await fixture.client.fsck()
        #expect(report.foundDamage)
        #expect(report.problems.map(\.kind) == [damage == .deleted ? .missingBlobFile : .damagedBlob])
        #expect(report.problems.first?.subject == victim.hash.hex)

        let repaired = try await fixture.client.fsck(repair: true)
        #expect(repaired.unrepaired.isEmpty)
        #expect(repaired.repairs.contains { $0.contains(victim.commit.hex) })
        #expect(try await fixture.client.fsck().problems.isEmpty)
        #expect(try await fixture.store.commit(victim.commit) == nil)
        #expect(try await healthy.loadBytes() == LargeBlobFixture.expected(seed: 2, size: 2_000_000, compressible: compressible))
        #expect(try await small.loadBytes().count == 100)
        // The call runs again and is stored afresh.
        let rerun = try await fixture.client.submit(LargeBlobFixture.payload, 1, 2_000_000, compressible)
        #expect(!rerun.wasCached && rerun.hash == victim.hash)
        #expect(try await rerun.loadBytes() == LargeBlobFixture.expected(seed: 1, size: 2_000_000, compressible: compressible))
    }

    @Test("leftover temporary and orphan files are never loaded, are garbage (not damage) to fsck, and fsck --repair and gc remove them",
          arguments: ["fsck --repair", "gc"])
    func leftovers(_ remover: String) async throws {
        let fixture = try LargeBlobFixture()
        let ref = try await fixture.client.submit(LargeBlobFixture.payload, 4, 500_000, true)
        let (abandoned, live, orphan) = try fixture.plantLeftovers()

        #expect(try await ref.loadBytes() == TestPayload.compressible(500_000, seed: 4))
        await #expect(throws: CashetError.self) { try await fixture.store.blob(SHA256Hasher.hash(Array("orphan".utf8))) }
        let report = try await fixture.client.fsck()
        #expect(!report.foundDamage)
        #expect(Set(report.problems.map(\.kind)) == [.orphanFile, .abandonedTemporaryFile])
        #expect(report.problems.count == 2)   // the live writer's temp file is not a problem
        if remover == "gc" {
            #expect(try await fixture.client.gc(olderThan: .distantPast).leftoverFilesRemoved == 2)
        } else {
            #expect(try await fixture.client.fsck(repair: true).repairs.count == 2)
        }
        #expect(!FileManager.default.fileExists(atPath: abandoned))
        #expect(!FileManager.default.fileExists(atPath: orphan))
        #expect(FileManager.default.fileExists(atPath: live))
        #expect(try await fixture.client.fsck().problems.isEmpty)
        #expect(try await ref.loadBytes().count == 500_000)
    }

    @Test("an inline blob damaged inside data.mdb: verifyOnLoad refuses it, fsck reports it")
    func inlineDamage() async throws {
        let fixture = try LargeBlobFixture()
        let ref = try await fixture.client.submit(LargeBlobFixture.payload, 6, 300, false)   // 300 random bytes: stored raw, inline
        let store = fixture.store
        try store.writing("damaging a blob on purpose") { txn in
            var stored = try txn.get(store.tables.blobs, ref.hash.bytes)!
            stored[100] ^= 1
            try txn.put(store.tables.blobs, ref.hash.bytes, stored)
        }
        // Same size, so only a hash can tell.
        #expect(try await store.blob(ref.hash) != LargeBlobFixture.expected(seed: 6, size: 300, compressible: false))
        var configuration = LMDBStore.Configuration()
        configuration.verifyOnLoad = true
        let verifying = try LMDBStore(fixture.storePath, configuration: configuration)
        let error = await #expect(throws: CashetError.self) { try await verifying.blob(ref.hash) }
        #expect(error?.code == .corruptData)
        #expect(try await fixture.client.fsck().problems.map(\.kind) == [.damagedBlob])
    }

    @Test("counters written before file blobs existed (seven fields) still read, with no file blobs")
    func legacyCounters() throws {
        var writer = ByteWriter(capacity: 56)
        for value in [3, 2, 1, 1, 2, 500, 400] { writer.appendFixedLittleEndian(UInt64(value)) }
        let counters = try StoreRecords.Counters(writer.bytes)
        #expect(counters.commits == 3 && counters.storedBytes == 400 && counters.fileBlobs == 0)
        #expect(try StoreRecords.Counters(counters.bytes) == counters)
    }

    @Test("fsck finds and repairs wrong reference counts, wrong counters and dangling references")
    func metadataRepair() async throws {
        let fixture = try LargeBlobFixture()
        let kept = try await fixture.client.submit(LargeBlobFixture.payload, 1, 1000, true)
        let dangling = try await fixture.client.submit(LargeBlobFixture.payload, 2, 1000, true)
        let store = fixture.store
        try store.writing("damaging the store on purpose") { txn in
            var info = try StoreRecords.BlobInfo(try txn.get(store.tables.blobInfo, kept.hash.bytes)!)
            info.references = 5
            try txn.put(store.tables.blobInfo, kept.hash.bytes, info.bytes)
            _ = try txn.delete(store.tables.blobInfo, dangling.hash.bytes)
            _ = try txn.delete(store.tables.blobs, dangling.hash.bytes)
        }
        let report = try await fixture.client.fsck()
        #expect(Set(report.problems.map(\.kind)) == [.wrongReferenceCount, .danglingReference, .wrongCounters])
        let repaired = try await fixture.client.fsck(repair: true)
        #expect(repaired.unrepaired.isEmpty)
        #expect(try await fixture.client.fsck().problems.isEmpty)
        #expect(try await kept.loadBytes().count == 1000)
        let stats = try await fixture.client.stats()
        #expect(stats.commits == 1 && stats.blobs == 1)
    }

    @Test("export streams a blob, file or inline, to a file (replacing it) or an open descriptor, with the exact bytes")
    func export() async throws {
        let fixture = try LargeBlobFixture()
        for (size, compressible) in [(2_500_000, true), (2_500_000, false), (5000, true)] {
            let ref = try await fixture.client.submit(LargeBlobFixture.payload, 8, size, compressible)
            let expected = Data(LargeBlobFixture.expected(seed: 8, size: size, compressible: compressible))
            let path = fixture.directory.child("export-\(size)-\(compressible)")
            try Data(repeating: 9, count: 10_000_000).write(to: URL(fileURLWithPath: path))   // longer: must not survive
            try await fixture.client.get(ref.commit.hex, to: path)
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == expected)

            // An open descriptor in append mode: written at its position, left open.
            let appended = fixture.directory.child("append-\(size)-\(compressible)")
            try Data("head".utf8).write(to: URL(fileURLWithPath: appended))
            let handle = try FileHandle(forUpdating: URL(fileURLWithPath: appended))
            try handle.seekToEnd()
            try await fixture.client.get(ref.commit.hex, toFileDescriptor: handle.fileDescriptor)
            try handle.write(contentsOf: Data("tail".utf8))
            try handle.close()
            #expect(try Data(contentsOf: URL(fileURLWithPath: appended)) == Data("head".utf8) + expected + Data("tail".utf8))
        }
        try await fixture.client.get(try await fixture.client.log().first!.hash.hex, to: "/dev/null")
    }

    @Test("the prehash memo (XXH3 keys, and short inputs by their bytes) always answers with the SHA-256 of the bytes asked about")
    func prehashMemo() {
        var inputs: [[UInt8]] = [[], Array(repeating: 1, count: 15), Array(repeating: 1, count: 14), Array(repeating: 2, count: 15)]
        for seed in 0..<20 { inputs.append(TestPayload.incompressible(1000 + seed % 3, seed: UInt64(seed % 10))) }
        for size in [1, 10, 63, 64, 65, 200] { inputs.append(TestPayload.incompressible(size, seed: UInt64(size))) }
        inputs.append(Array(inputs[5].dropLast()))      // a prefix of a known input
        inputs.append(Array(inputs[24].dropLast()))     // and of a short one
        // More distinct inputs than the capacity of either memo: each starts over along the way.
        for memo in [PrehashMemo(capacity: 8, minimumSize: 16), PrehashMemo(capacity: 8, minimumSize: 512, shortLimit: 64)] {
            for _ in 0..<3 {
                for input in inputs { #expect(memo.hash(input) == SHA256Hasher.hash(input)) }
            }
        }
        #expect(PrehashMemo(capacity: 0).hash(inputs[3]) == SHA256Hasher.hash(inputs[3]))
        #expect(PrehashMemo(capacity: 0, shortLimit: 64).hash(inputs[1]) == SHA256Hasher.hash(inputs[1]))
    }
}

@Suite("CLI: fsck and streaming get")
struct LargeBlobCLITests {
    @Test("`cashet get -o` writes the exact bytes of a large result; `cashet fsck` exits 0 when healthy, 3 when damaged, 0 after --repair")
    func fsckAndGet() async throws {
        let fixture = try LargeBlobFixture()
        let big = try await fixture.client.submit(LargeBlobFixture.payload, 1, 1_500_000, true)
        let other = try await fixture.client.submit(LargeBlobFixture.payload, 2, 400_000, false)

        let output = fixture.directory.child("result.bin")
        let get = try Products.cashet("get", big.commit.hex.prefix(8).description, "-o", output, "--store", fixture.storePath)
        #expect(get.status == 0, "\(get.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: output)) == Data(LargeBlobFixture.expected(seed: 1, size: 1_500_000, compressible: true)))

        let healthy = try Products.cashet("fsck", "--store", fixture.storePath)
        #expect(healthy.status == 0 && healthy.stdout.contains("no problems found"), "\(healthy.stdout)\(healthy.stderr)")

        try FileDamage.flippedByte.apply(to: fixture.store.files.path(of: other.hash))
        let damaged = try Products.cashet("fsck", "--json", "--store", fixture.storePath)
        #expect(damaged.status == 3)
        let json = try JSONSerialization.jsonObject(with: Data(damaged.stdout.utf8)) as? [String: Any]
        #expect(json?["damaged"] as? Bool == true)
        let problems = json?["problems"] as? [[String: Any]]
        #expect(problems?.first?["kind"] as? String == "damaged-blob" && problems?.first?["subject"] as? String == other.hash.hex)

        let badGet = try Products.cashet("get", other.commit.hex, "-o", output, "--store", fixture.storePath)
        #expect(badGet.status == 3 && badGet.stderr.contains(other.hash.hex.prefix(2) + "/" + other.hash.hex.dropFirst(2)), "\(badGet.stderr)")

        let repair = try Products.cashet("fsck", "--repair", "--store", fixture.storePath)
        #expect(repair.status == 0 && repair.stdout.contains("removed commit \(other.commit.hex)"), "\(repair.stdout)")
        #expect(try Products.cashet("fsck", "--store", fixture.storePath).status == 0)
        #expect(try Products.cashet("get", big.commit.hex, "--store", fixture.storePath).stdout.utf8.count == 1_500_000)
    }
}
