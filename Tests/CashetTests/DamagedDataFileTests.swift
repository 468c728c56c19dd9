import Cashet
import CashetTestSupport
import Foundation
import Testing

@Suite("A damaged data.mdb: every command ends with a report, never a signal")
struct DamagedDataFileTests {
    /// A store with enough small commits to fill several B-tree pages of every table.
    static func populated() async throws -> (TemporaryDirectory, store: String) {
        let directory = TemporaryDirectory()
        let store = directory.child("store")
        let client = try Client(path: store)
        let square = CachedFunction("square", version: "1") { (x: Int) -> Int in x * x }
        _ = try await client.map(square, over: Array(0..<3_000), tags: ["run": "damage"])
        await client.close()
        return (directory, store)
    }

    /// How a command ended: its exit status, or the signal that killed it.
    static func ending(_ arguments: [String]) throws -> (status: Int32, signal: Bool, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Products.cli)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, process.terminationReason == .uncaughtSignal, stderr)
    }

    @Test("leaf pages made to look like branch pages, one at a time, and data.mdb cut short: fsck, fsck --repair, log and stats end with exit 0, 1 or 3 (damage named), never a signal or a usage error")
    func wrongPageTypes() async throws {
        let (directory, store) = try await Self.populated()
        let pristine = try Data(contentsOf: URL(fileURLWithPath: store + "/data.mdb"))
        let pageSize = 4096
        // LMDB's page header: pgno (8 bytes), pad (2), flags (2): P_BRANCH 0x01, P_LEAF 0x02.
        let leaves = stride(from: 2 * pageSize, to: pristine.count, by: pageSize).filter { pristine[$0 + 10] == 0x02 && pristine[$0 + 11] == 0 }
        #expect(leaves.count >= 20)
        var damaged: [(String, Data)] = leaves.prefix(24).map { offset in
            var bytes = pristine
            bytes[offset + 10] = 0x01
            return ("leaf page at \(offset) marked as a branch", bytes)
        }
        damaged.append(("cut to half its length", pristine.prefix(pristine.count / 2 / pageSize * pageSize)))
        var reported = 0
        for (what, bytes) in damaged {
            let copy = directory.child("copy")
            try? FileManager.default.removeItem(atPath: copy)
            try FileManager.default.copyItem(atPath: store, toPath: copy)
            try FileManager.default.removeItem(atPath: copy + "/lock.mdb")
            try bytes.write(to: URL(fileURLWithPath: copy + "/data.mdb"))
            for command in [["fsck"], ["log", "-n", "5000"], ["stats"], ["fsck", "--repair"]] {
                let end = try Self.ending(command + ["--store", copy])
                #expect(!end.signal && [0, 1, 3].contains(end.status), "\(what): \(command) ended with \(end.signal ? "signal" : "status") \(end.status): \(end.stderr)")
                if end.status == 3 { reported += 1 }
            }
        }
        #expect(reported > 0, "no damage was ever reported: the test damaged nothing that matters")
    }
}
