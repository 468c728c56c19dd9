@testable import Cashet
import CashetTestSupport
import Foundation
import Testing

@Suite("data.mdb's pages: checked without LMDB, rebuilt from what is readable")
struct StructureRepairTests {
    static let square = CachedFunction("square", version: "1") { (x: Int) -> [UInt8] in
        // Sizes from a few bytes to past a page (overflow pages) and past the file threshold.
        let size = x % 50 == 0 ? 200_000 : x % 7 == 0 ? 6_000 : 16 + x % 40
        return (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ x) }
    }

    /// A store of every shape the tables take: thousands of commits under one tag (a tree of
    /// duplicates), small, overflowing and file results, removals and a sweep (a free list).
    /// `expected`: the commits in the store and their results; `removed`: those of the commits
    /// removed along the way (a rebuild may bring back what it finds on no tree's pages).
    static func populated(_ schema: LMDBStore.Schema = .v1) async throws -> (TemporaryDirectory, store: String, expected: [ContentHash: [UInt8]], removed: [ContentHash: [UInt8]]) {
        let directory = TemporaryDirectory()
        let store = directory.child("store")
        var configuration = LMDBStore.Configuration()
        configuration.schema = schema
        let client = Client(store: try LMDBStore(store, configuration: configuration))
        let refs = try await client.map(square, over: Array(0..<2_500), tags: ["run": "structure"])
        var removed: [ContentHash: [UInt8]] = [:]
        for ref in refs.prefix(300) {
            removed[ref.commit] = try await client.get(ref.commit.hex)
            _ = try await client.rm(ref.commit.hex)
        }
        _ = try await client.gc(olderThanDays: 10_000)
        _ = try await client.map(square, over: Array(2_500..<2_700), tags: ["run": "later", "kind": "extra"])
        // Keys with a few values each (LMDB keeps those in a sub-page inside the node): forced
        // re-runs give a call's history several commits, and a tag shared by a few of them.
        for x in 2_500..<2_560 {
            for _ in 0..<3 { _ = try await client.submit(square, x, tags: ["pair": "p\(x / 2)"], options: CallOptions(force: true)) }
        }
        var expected: [ContentHash: [UInt8]] = [:]
        for commit in try await client.log() { expected[commit.hash] = try await client.get(commit.hash.hex) }
        await client.close()
        return (directory, store, expected, removed)
    }

    @Test("a healthy store of every shape has no structural problems, and its counts agree with LMDB's", arguments: LMDBStore.Schema.allCases)
    func healthyStoresAreClean(schema: LMDBStore.Schema) async throws {
        let (directory, store, expected, _) = try await Self.populated(schema)
        defer { withExtendedLifetime(directory) {} }
        #expect(expected.count == 2_580)
        let problems = try LMDBStore.checkStructure(at: store)
        #expect(problems.isEmpty, "\(problems.prefix(5))")
        let opened = try LMDBStore(store)
        #expect(try opened.structureProblems().isEmpty)
        #expect(try await Client(store: opened).fsck().problems.isEmpty)
    }

    /// Live leaf pages of `data.mdb` (those the structure check misses once broken).
    static func liveLeafPages(_ store: String, limit: Int) throws -> [Int] {
        let path = store + "/data.mdb"
        let pristine = try Data(contentsOf: URL(fileURLWithPath: path))
        var pages: [Int] = []
        for page in 2..<(pristine.count / 4096) where pristine[page * 4096 + 10] == 0x02 && pristine[page * 4096 + 11] == 0 {
            var damaged = pristine
            damaged[page * 4096 + 10] = 0x01   // now a branch page where a leaf belongs
            try damaged.write(to: URL(fileURLWithPath: path))
            if try !LMDBStore.checkStructure(at: store).isEmpty { pages.append(page) }
            if pages.count == limit { break }
        }
        try pristine.write(to: URL(fileURLWithPath: path))
        return pages
    }

    @Test("a leaf page made a branch page: fsck names the damage (exit 3) without a signal; fsck --repair rebuilds data.mdb, keeps every commit outside that page bit-exactly and the damaged file beside it; fsck is then clean",
          .timeLimit(.minutes(5)), arguments: LMDBStore.Schema.allCases)
    func rebuildKeepsEveryReadableCommit(schema: LMDBStore.Schema) async throws {
        let (directory, store, expected, _) = try await Self.populated(schema)
        let pages = try await offPool { try Self.liveLeafPages(store, limit: 40) }   // seconds of blocking work: off the pool
        #expect(pages.count >= 30)
        let pristine = try Data(contentsOf: URL(fileURLWithPath: store + "/data.mdb"))
        // Every tenth live leaf page, each in a fresh copy of the store.
        for page in stride(from: 0, to: pages.count, by: 10).map({ pages[$0] }) {
            let copy = directory.child("copy-\(page)")
            try FileManager.default.copyItem(atPath: store, toPath: copy)
            var damaged = pristine
            damaged[page * 4096 + 10] = 0x01
            try damaged.write(to: URL(fileURLWithPath: copy + "/data.mdb"))

            let check = try await Products.cli("fsck", "--store", copy)
            #expect(check.status == 3, "page \(page): \(check.stdout) \(check.stderr)")
            #expect(check.stdout.contains("damaged-structure"), "page \(page): \(check.stdout)")

            // A plain repair leaves the pages alone and says how to rebuild them.
            let plain = try await Products.cli("fsck", "--repair", "--store", copy)
            #expect(plain.status == 3 && plain.stdout.contains("--rebuild"), "page \(page): \(plain.stdout)")
            let repair = try await Products.cli("fsck", "--repair", "--rebuild", "--store", copy)
            #expect(repair.status == 0, "page \(page): \(repair.stdout) \(repair.stderr)")
            #expect(repair.stdout.contains("rebuilt data.mdb"), "page \(page): \(repair.stdout)")
            let again = try await Products.cli("fsck", "--store", copy)
            #expect(again.status == 0, "page \(page): \(again.stdout) \(again.stderr)")

            let kept = try FileManager.default.contentsOfDirectory(atPath: copy).filter { $0.hasPrefix("data.mdb.damaged-") }
            #expect(kept.count == 1)
            #expect(try kept.first.map { try Data(contentsOf: URL(fileURLWithPath: copy + "/" + $0)) } == damaged)

            // One leaf page holds at most a few dozen records: everything else is still there.
            let client = try Client(path: copy)
            let commits = try await client.log()
            #expect(commits.count >= expected.count - 60, "page \(page): \(commits.count) of \(expected.count) commits kept")
            for commit in commits {
                #expect(try await client.get(commit.hash.hex) == expected[commit.hash], "commit \(commit.hash.shortHex) after rebuilding around page \(page)")
            }
            let stats = try await client.stats()
            #expect(stats.commits == commits.count)
            await client.close()
        }
    }

    /// Found by the flips campaign (seed 2292894050, case 4): a flip of the top bit of a table's
    /// recorded flags. LMDB then refuses the table (MDB_INCOMPATIBLE) on every lookup, while the
    /// structure check, which never compared the flags, found nothing to rebuild: every command
    /// ended in exit 4, before and after `fsck --repair --rebuild`.
    @Test("a table's recorded flags flipped (0x8000 on the functions table, or DUPSORT dropped): fsck names it (exit 3), --repair --rebuild keeps every commit, fsck is then clean",
          arguments: [("functions", UInt16(0x8000)), ("functions", UInt16(0x0004))])
    func flippedTableFlagsAreRebuilt(table: String, mask: UInt16) async throws {
        let directory = TemporaryDirectory()
        let store = directory.child("store")
        let expected = try await Self.smallStore(at: store)

        // The table's node in the main tree: header (lo, hi, flags = F_SUBDATA, key size), the
        // name, then its MDB_db record, whose md_flags follow a 4-byte pad.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: store + "/data.mdb")))
        let node: [UInt8] = [0x02, 0x00, UInt8(table.utf8.count), 0x00] + Array(table.utf8)
        let root = try Self.rootPage(of: "main", in: store, requireBranch: false)
        let page = Array(bytes[root * 4096..<(root + 1) * 4096])
        let at = try #require(page.indices.dropLast(node.count).first { Array(page[$0..<$0 + node.count]) == node })
        let flagsOffset = root * 4096 + at + node.count + 4
        let flags = UInt16(bytes[flagsOffset]) | UInt16(bytes[flagsOffset + 1]) << 8
        let flipped = flags ^ mask
        (bytes[flagsOffset], bytes[flagsOffset + 1]) = (UInt8(flipped & 0xff), UInt8(flipped >> 8))
        try Data(bytes).write(to: URL(fileURLWithPath: store + "/data.mdb"))

        let check = try await Products.cli("fsck", "--store", store)
        #expect(check.status == 3 && check.stdout.contains("records flags"), "\(check.stdout) \(check.stderr)")
        let repair = try await Products.cli("fsck", "--repair", "--rebuild", "--store", store)
        #expect(repair.status == 0 && repair.stdout.contains("rebuilt data.mdb"), "\(repair.stdout) \(repair.stderr)")
        let again = try await Products.cli("fsck", "--store", store)
        #expect(again.status == 0, "\(again.stdout) \(again.stderr)")
        let reopened = try Client(path: store)
        let commits = try await reopened.log()
        #expect(commits.count == expected.count)
        for commit in commits { #expect(try await reopened.get(commit.hash.hex) == expected[commit.hash]) }
        #expect(try await reopened.history(try #require(commits.first).hash.hex).count == 3)   // square(3), run three times
        await reopened.close()
    }

    /// 42 commits, tagged, one call run three times; closed (a rebuild needs the store to itself).
    static func smallStore(at store: String) async throws -> [ContentHash: [UInt8]] {
        let client = try Client(path: store)
        _ = try await client.map(square, over: Array(1...40), tags: ["run": "flags"])
        for _ in 0..<2 { _ = try await client.submit(square, 3, options: CallOptions(force: true)) }
        var expected: [ContentHash: [UInt8]] = [:]
        for commit in try await client.log() { expected[commit.hash] = try await client.get(commit.hash.hex) }
        await client.close()
        return expected
    }

    /// A page walker over the store's `data.mdb` (its newest snapshot).
    static func walker(of store: String) throws -> LMDBFileWalker {
        guard let file = try PosixFile.openIfExists(store + "/data.mdb") else { throw CashetError(.notAStore, "no data.mdb in \(store)") }
        return try LMDBFileWalker(file: file)
    }

    /// The root page of one of `data.mdb`'s named tables in its newest snapshot.
    static func rootPage(of table: String, in store: String, requireBranch: Bool = true) throws -> Int {
        let walker = try walker(of: store)
        let tree = try #require(table == "main" ? walker.meta.mainTree : walker.namedTables()[table])
        if requireBranch { #expect(tree.depth >= 2, "\(table) has a branch root") }
        return Int(tree.root)
    }

    @Test("pages wiped (a torn write): blob_info's root, whose rows a result can do without (its size is in its commit); the roots of commits, blobs and blob_info, whose rows are then found on pages no tree reaches, beside rows of other tables with the same keys; both meta pages (a noSync file whose first write was lost), so that no tree is known; blob_info's root overwritten by blobs' (its walk then reads blob rows, keyed by the same hashes, as metadata): a rebuild keeps every commit, bit-exactly",
          .timeLimit(.minutes(3)), arguments: [["blob_info"], ["commits", "blobs", "blob_info"], ["meta"], ["blob_info=blobs"]])
    func rebuildWithoutRoots(_ wiped: [String]) async throws {
        let (directory, store, expected, removed) = try await Self.populated()
        defer { withExtendedLifetime(directory) {} }
        var damaged = try Data(contentsOf: URL(fileURLWithPath: store + "/data.mdb"))
        for table in wiped {
            let parts = table.split(separator: "=").map(String.init)
            if parts.count == 2 {
                // "a=b": a's root page holds a copy of b's (a stale pointer into another table).
                let (target, source) = (try Self.rootPage(of: parts[0], in: store), try Self.rootPage(of: parts[1], in: store))
                damaged.replaceSubrange(target * 4096 ..< (target + 1) * 4096, with: damaged[source * 4096 ..< (source + 1) * 4096])
                continue
            }
            // "meta": both meta pages (LMDB's snapshots), so that no tree is known at all.
            for page in table == "meta" ? [0, 1] : [try Self.rootPage(of: table, in: store)] {
                damaged.replaceSubrange(page * 4096 ..< (page + 1) * 4096, with: [UInt8](repeating: 0, count: 4096))
            }
        }
        try damaged.write(to: URL(fileURLWithPath: store + "/data.mdb"))

        let repair = try await Products.cli("fsck", "--repair", "--rebuild", "--store", store)
        #expect(repair.status == 0 && repair.stdout.contains("rebuilt data.mdb"), "\(repair.stdout) \(repair.stderr)")
        #expect(try await Products.cli("fsck", "--store", store).status == 0)
        let client = try Client(path: store)
        for (hash, bytes) in expected { #expect(try await client.get(hash.hex) == bytes, "commit \(hash.shortHex)") }
        // Removed commits on pages no tree reaches may come back (true results of their calls).
        for commit in try await client.log() where expected[commit.hash] == nil {
            #expect(try await client.get(commit.hash.hex) == removed[commit.hash])
        }
        await client.close()
    }

    @Test("data.mdb cut short, as a power cut can leave a noSync store: fsck names the shortage (exit 3); --repair rebuilds from the pages still there; every commit it keeps loads bit-exactly and fsck is then clean",
          .timeLimit(.minutes(3)), arguments: LMDBStore.Schema.allCases)
    func truncatedFileIsRebuilt(schema: LMDBStore.Schema) async throws {
        let (directory, store, expected, removed) = try await Self.populated(schema)
        defer { withExtendedLifetime(directory) {} }
        let path = store + "/data.mdb"
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        for fraction in [0.9, 0.6] {
            let copy = directory.child("cut-\(fraction)")
            try FileManager.default.copyItem(atPath: store, toPath: copy)
            let length = Int(Double(size) * fraction) / 4096 * 4096
            #expect(truncate(copy + "/data.mdb", off_t(length)) == 0)
            let check = try await Products.cli("fsck", "--store", copy)
            #expect(check.status == 3 && check.stdout.contains("damaged-structure"), "\(fraction): \(check.stdout) \(check.stderr)")
            let repair = try await Products.cli("fsck", "--repair", "--rebuild", "--store", copy)
            #expect(repair.status == 0 && repair.stdout.contains("rebuilt data.mdb"), "\(fraction): \(repair.stdout) \(repair.stderr)")
            #expect(try await Products.cli("fsck", "--store", copy).status == 0)
            let client = try Client(path: copy)
            let commits = try await client.log()
            // Cut deep, the tables' roots may be gone with the end of the file: then nothing is kept.
            #expect(fraction < 0.9 || commits.count >= expected.count / 2, "\(fraction): a rebuild keeps what the pages still hold (\(commits.count) commits): \(repair.stdout)")
            // Pages no tree reaches any more may still hold commits removed before the cut: they
            // come back (true results of their calls); nothing else may appear.
            for commit in commits { #expect(try await client.get(commit.hash.hex) == (expected[commit.hash] ?? removed[commit.hash])) }
            await client.close()
        }
    }

    @Test("data.mdb cut to less than its two meta pages (0, 100, 5,000 and 7,578 bytes): fsck reports it (3 or 4), and fsck --repair ends with a status, never a signal (0 only when fsck is then clean)")
    func fileShorterThanItsMetaPages() async throws {
        let (directory, store, _, _) = try await Self.populated()
        for length in [0, 100, 5_000, 7_578] {
            let copy = directory.child("short-\(length)")
            try FileManager.default.copyItem(atPath: store, toPath: copy)
            #expect(truncate(copy + "/data.mdb", off_t(length)) == 0)
            let check = try await offPool { try DamagedDataFileTests.ending(["fsck", "--store", copy]) }
            #expect(!check.signal && [3, 4].contains(check.status), "\(length) bytes: \(check)")
            let repair = try await offPool { try DamagedDataFileTests.ending(["fsck", "--repair", "--rebuild", "--store", copy]) }
            #expect(!repair.signal && [0, 3, 4].contains(repair.status), "\(length) bytes: \(repair)")
            let after = try await offPool { try DamagedDataFileTests.ending(["fsck", "--store", copy]) }
            #expect(!after.signal && (repair.status != 0 || after.status == 0), "\(length) bytes, after the repair: \(after)")
        }
    }

    @Test("an LMDB file with no tables (a crash while the store was being created) is no structural damage: fsck says it is not a store (exit 4), and the application can start on it")
    func storeNeverMadeIsNotDamage() async throws {
        let directory = TemporaryDirectory()
        let path = directory.child("store")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        do {
            let root = try StoreRoot(path)
            let key = try SharedEnvironments.Key(directory: root.handle.descriptor, path: path)
            try SharedEnvironments.withEnvironment(key, directory: root.handle.descriptor, path: path, options: LMDBOptions()) { _ in }   // data.mdb, no tables
        }
        #expect(try LMDBStore.checkStructure(at: path).isEmpty)
        let check = try await Products.cli("fsck", "--store", path)
        #expect(check.status == 4 && !check.stdout.contains("damaged-structure"), "\(check.stdout) \(check.stderr)")
        #expect(try await Client(path: path).stats().commits == 0)
    }

    @Test("a healthy file that ends before its snapshot's last page (LMDB never writes overflow pages it allocated and freed in one transaction): it opens, fsck finds nothing, and every result loads")
    func unwrittenFreePagesAreNoDamage() async throws {
        let directory = TemporaryDirectory()
        let path = directory.child("store")
        let client = try Client(path: path)
        let refs = try await client.map(Self.square, over: Array(0..<40))
        var expected: [[UInt8]] = []
        for ref in refs { expected.append(try await client.get(ref.commit.hex)) }
        await client.close()
        do {
            // Large values written and deleted again in one transaction, as a value replaced twice
            // or a free list rewritten while it is saved can be.
            let store = try LMDBStore(path)
            try store.env.write { txn in
                let big = [UInt8](repeating: 7, count: 60_000)
                for index in 0..<8 { _ = try txn.put(store.tables.meta, Array("scratch-\(index)".utf8), Array(big.prefix(5_000 + 7_000 * index))) }
                for index in 0..<8 where index % 3 != 0 { _ = try txn.delete(store.tables.meta, Array("scratch-\(index)".utf8)) }
            }
            try store.env.write { txn in
                for index in 0..<8 where index % 3 == 0 { _ = try txn.delete(store.tables.meta, Array("scratch-\(index)".utf8)) }
            }
        }
        let file = path + "/data.mdb"
        let size = try #require(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        let lastPage = try Self.walker(of: path).meta.lastPage
        #expect(Int(lastPage + 1) * 4096 > size, "the premise: the file (\(size) bytes) ends before page \(lastPage)")

        #expect(try LMDBStore.checkStructure(at: path).isEmpty)
        let check = try await Products.cli("fsck", "--store", path)
        #expect(check.status == 0, "\(check.stdout) \(check.stderr)")
        let reopened = try Client(path: path)
        for (ref, bytes) in zip(refs, expected) { #expect(try await reopened.get(ref.commit.hex) == bytes) }
        #expect(try await reopened.stats().commits == 40)
        await reopened.close()
    }

    @Test("an empty data.mdb (a noSync store whose first write a power cut lost): read-only commands say so (exit 4), not LMDB's EBADF; the application starts on it and records")
    func emptyDataFileIsNoStoreYet() async throws {
        let directory = TemporaryDirectory()
        let path = directory.child("store")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        #expect(FileManager.default.createFile(atPath: path + "/data.mdb", contents: Data()))
        for command in [["fsck"], ["stats"], ["log"], ["fsck", "--repair", "--rebuild"]] {
            let result = try await Products.runOffPool(Products.cli, command + ["--store", path])
            #expect(result.status == 4 && result.stderr.contains("data.mdb is empty"), "\(command): \(result.stdout) \(result.stderr)")
        }
        let client = try Client(path: path)
        _ = try await client.submit(Self.square, 3)
        #expect(try await client.stats().commits == 1)
        await client.close()
    }

    @Test("a rebuild refuses, changing nothing, while the store is open in this process or in another one")
    func rebuildNeedsTheStoreToItself() async throws {
        let (directory, store, _, _) = try await Self.populated(.v2)   // the current schema: no opening migrates it
        do {
            let opened = try LMDBStore(store)
            let error = #expect(throws: CashetError.self) { _ = try LMDBStore.rebuild(at: store) }
            #expect(error?.code == .unavailable, "\(String(describing: error))")
            _ = opened
        }
        let log = directory.child("hold.log")
        let holder = try Products.startHelper(["hold", store, log])
        defer { holder.terminate() }
        while (try? String(contentsOfFile: log, encoding: .utf8))?.contains("started") != true { usleep(20_000) }
        let before = try Data(contentsOf: URL(fileURLWithPath: store + "/data.mdb"))
        let repair = try await Products.cli("fsck", "--repair", "--rebuild", "--store", store)
        #expect(repair.status == 0, "a healthy store needs no rebuild: \(repair.stderr)")
        let error = #expect(throws: CashetError.self) { _ = try LMDBStore.rebuild(at: store) }
        #expect(error?.code == .unavailable && error?.message.contains("open in another process") == true, "\(String(describing: error))")
        #expect(try Data(contentsOf: URL(fileURLWithPath: store + "/data.mdb")) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: store).sorted() == ["data.mdb", "journal", "leases", "lock.mdb", "objects"])
    }
}
