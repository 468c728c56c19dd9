@testable import Cashet
import CashetTestSupport
import Foundation
import Testing

@Suite("One store opened several ways in one process")
struct SharedStoreInProcessTests {
    /// The POSIX locks this process holds on `file` (LMDB's lock on lock.mdb), from /proc/locks:
    /// `1: POSIX  ADVISORY  READ 4242 08:01:1234567 0 0`, matched by pid and inode.
    static func posixLocks(on file: String) throws -> Int {
        var info = stat()
        guard stat(file, &info) == 0 else { return 0 }
        let locks = try Self.readToEnd("/proc/locks")
        return locks.split(separator: "\n").filter { line in
            let fields = line.split(separator: " ")
            return fields.count >= 6 && fields[1] == "POSIX" && fields[4] == "\(getpid())" && fields[5].hasSuffix(":\(info.st_ino)")
        }.count
    }

    /// The whole of a /proc file. Foundation's `String(contentsOfFile:)` and `Data(contentsOf:)`
    /// stop after the first page of a file whose size reads as 0, and /proc/locks on a busy
    /// machine is longer than that.
    static func readToEnd(_ path: String) throws -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw CocoaError(.fileReadUnknown) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test("opening a store twice (by two spellings of its path) shares one LMDB environment: releasing one keeps LMDB's lock for the other, and both keep working")
    func openedTwice() async throws {
        let directory = TemporaryDirectory()
        let path = directory.child("store")
        var first: LMDBStore? = try LMDBStore(path)
        let second = try LMDBStore(directory.path + "/./store")
        #expect(try Self.posixLocks(on: path + "/lock.mdb") > 0)
        let commit = try await Client(store: first!).submit(MapLeaseTests.slowBlock, 1).commit   // no reference kept: it holds its store
        first = nil   // the earlier code closed its own copy of the environment here, dropping the process's locks
        #expect(try Self.posixLocks(on: path + "/lock.mdb") > 0, "releasing one store dropped LMDB's lock on lock.mdb for the other")
        let client = Client(store: second, serializer: RawBytesSerializer())
        #expect(try await client.submit(MapLeaseTests.slowBlock, 1).commit == commit)
        #expect(try await client.submit(MapLeaseTests.slowBlock, 2).wasCached == false)
        // Another process reads what this one wrote through the shared environment.
        let stats = try Products.cashet("stats", "--json", "--store", path)
        #expect(stats.status == 0 && stats.stdout.contains("\"commits\":2"), "\(stats.stdout) \(stats.stderr)")
    }

    @Test("a read-only store sharing a writable one's environment still refuses writes; a durable store sharing a noSync one's environment still flushes")
    func differentConfigurations() async throws {
        let directory = TemporaryDirectory()
        let path = directory.child("store")
        var noSync = LMDBStore.Configuration()
        noSync.durability = .noSync
        let fast = try LMDBStore(path, configuration: noSync)
        var readOnly = LMDBStore.Configuration()
        readOnly.readOnly = true
        let reader = try LMDBStore(path, configuration: readOnly)
        let error = await #expect(throws: CashetError.self) { _ = try await reader.putBlob([1, 2, 3]) }
        #expect(error?.message.contains("read-only") == true, "\(String(describing: error))")
        let durable = try LMDBStore(path)
        #expect(durable.env === fast.env)
        _ = try await durable.putBlob([4, 5, 6])
    }

    @Test("a store whose data.mdb was replaced while this process keeps the old file open is not opened on the old file (whose writes nobody else would see): the opening fails and names the cause; once the old store goes, it opens the new file")
    func replacedDataFileIsNotShared() async throws {
        let directory = TemporaryDirectory()
        let path = directory.child("store")
        let triple = CachedFunction("replaced-triple", version: "1") { (x: Int) in 3 * x }
        var old: Client? = Client(store: try LMDBStore(path))
        _ = try await old!.submit(triple, 1)
        await old!.close()
        // Put a copy in place of the file, as a restore from backup would: a new inode, same name.
        try FileManager.default.copyItem(atPath: path + "/data.mdb", toPath: path + "/restored.mdb")
        #expect(rename(path + "/restored.mdb", path + "/data.mdb") == 0)
        do {
            _ = try LMDBStore(path)
            Issue.record("the store opened on the replaced file, which this process still had open")
        } catch {
            #expect(error.code == .unavailable && error.message.contains("replaced"), "\(error)")
        }
        old = nil
        let client = Client(store: try LMDBStore(path))
        let ref = try await client.submit(triple, 2)
        await client.close()
        let shown = try await Products.cli("show", ref.commit.hex, "--store", path)
        #expect(shown.status == 0, "the commit is in the file the store names: \(shown.stderr)")
        #expect(try await client.submit(triple, 1).wasCached, "and the copy kept the first commit")
    }
}
