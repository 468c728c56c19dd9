@testable import Cashet
import CashetTestSupport
import Foundation
import Testing

extension HeavySuites {
    /// `cashet compact`: the disk space a large removal leaves in `data.mdb` given back, with every
    /// remaining record intact, and the old file or the new one whatever the moment of a crash.
    @Suite("compact gives disk space back without losing a record")
    struct CompactionTests {
        /// Distinct results below 30,000; above, ten results shared by a thousand commits each (an
        /// eviction plan once read every holder of a shared result for each of its commits).
        static let chunk = CachedFunction("chunk", version: "1") { (x: Int) in
            x < 30_000 ? "\(x):" + String(repeating: "\(x % 10)", count: 100) : String(repeating: "\(x % 10)", count: 100)
        }
        static let large = CachedFunction("large", version: "1") { (x: Int) in [UInt8](repeating: UInt8(x), count: 64 << 10) }

        /// A store of 40,000 small results and 3 result files, of which a gc keeps a tenth of the bytes:
        /// the path, and what `log --json` and `stats --json` showed then.
        static func shrunkStore(_ directory: TemporaryDirectory) async throws -> (path: String, log: String, stats: [String: Any]) {
            let path = directory.child("store")
            let client = try Client(path: path)
            _ = try await client.map(chunk, over: Array(0..<40_000))
            for x in 0..<3 { _ = try await client.submit(large, x) }
            let before = try await client.stats()
            _ = try await client.gc(EvictionPolicy(maxStoredBytes: before.storedBytes / 10))
            await client.close()
            let log = try Products.cashet("log", "--json", "--store", path)
            #expect(log.status == 0 && log.stdout.split(separator: "\n").count > 1_000, "\(log.stderr)")
            return (path, log.stdout, try Self.stats(path))
        }

        static func stats(_ path: String) throws -> [String: Any] {
            let stats = try Products.cashet("stats", "--json", "--store", path)
            var object = try #require(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])
            object["disk_bytes"] = nil   // the one number compaction changes
            return object
        }

        static func dataFileSize(_ path: String) throws -> Int {
            try #require(try FileManager.default.attributesOfItem(atPath: path + "/data.mdb")[.size] as? Int)
        }

        @Test("after a gc that keeps a tenth, compact shrinks data.mdb, and every commit, result, count and file is as it was; the store records again",
              .timeLimit(.minutes(5)))
        func compactAfterGC() async throws {
            let directory = TemporaryDirectory()
            let (path, log, stats) = try await Self.shrunkStore(directory)
            let before = try Self.dataFileSize(path)
            let objects = try FileManager.default.subpathsOfDirectory(atPath: path + "/objects").sorted()

            let compacted = try Products.cashet("compact", "--json", "--store", path)
            #expect(compacted.status == 0, "\(compacted.stderr)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(compacted.stdout.utf8)) as? [String: Int])
            let after = try Self.dataFileSize(path)
            #expect(report["bytes_before"] == before && report["bytes_after"] == after && report["bytes_freed"] == before - after)
            #expect(after < before / 3, "data.mdb: \(before) → \(after) bytes")

            #expect(try Products.cashet("log", "--json", "--store", path).stdout == log)
            #expect(NSDictionary(dictionary: try Self.stats(path)) == NSDictionary(dictionary: stats))
            #expect(try FileManager.default.subpathsOfDirectory(atPath: path + "/objects").sorted() == objects, "result files untouched")
            let fsck = try Products.cashet("fsck", "--store", path)
            #expect(fsck.status == 0 && fsck.stdout.contains("no problems found"), "\(fsck.stdout)")
            #expect(!(try FileManager.default.contentsOfDirectory(atPath: path)).contains { $0.hasPrefix("rebuild.") }, "no scratch left")

            let client = try Client(path: path)
            let fresh = try await client.submit(Self.chunk, 1_000_000)
            let again = try await client.submit(Self.chunk, 1_000_000)
            #expect(!fresh.wasCached && again.wasCached)
            for x in 0..<3 {
                let value = try await client.submit(Self.large, x).load()
                #expect(value == [UInt8](repeating: UInt8(x), count: 64 << 10))
            }
            await client.close()
        }

        @Test("compact refuses a store another process has open, a damaged one and a PostgreSQL URL, changing nothing")
        func refusals() async throws {
            let directory = TemporaryDirectory()
            let path = directory.child("store")
            let client = try Client(path: path)
            _ = try await client.submit(Self.chunk, 1)
            // This process has it open: the CLI, another process, must not take it.
            let busy = try Products.cashet("compact", "--store", path)
            #expect(busy.status == 4 && busy.stderr.hasPrefix("error: ") && busy.stderr.contains("to itself"), "\(busy.stderr)")
            await client.close()
            // This process too: the library refuses while a store of this process is open.
            let store = try LMDBStore(path)
            #expect(throws: CashetError.self) { try LMDBStore.compact(at: path) }
            _ = store

            let url = try Products.cashet("compact", "--store", "postgresql://nobody@127.0.0.1:1/none")
            #expect(url.status == 2 && url.stderr.contains("VACUUM"), "\(url.stderr)")

            let damaged = directory.child("damaged")
            try FileManager.default.createDirectory(atPath: damaged, withIntermediateDirectories: true)
            try Data(repeating: 0xAB, count: 64 << 10).write(to: URL(fileURLWithPath: damaged + "/data.mdb"))
            let digest = try fileDigest(damaged + "/data.mdb")
            let refused = try Products.cashet("compact", "--store", damaged)
            #expect(refused.status != 0 && refused.stderr.hasPrefix("error: "), "\(refused.stderr)")
            #expect(try fileDigest(damaged + "/data.mdb") == digest)
        }

        @Test("compact SIGKILLed at random moments leaves the old file or the complete new one: every commit there, fsck clean",
              .timeLimit(.minutes(8)))
        func killedCompaction() async throws {
            let directory = TemporaryDirectory()
            let (path, log, stats) = try await Self.shrunkStore(directory)
            // Each round compacts a fresh copy of the gc'd store, killed after a random delay
            // within the run's length: first timed on a copy of its own, then shortened to the
            // delay of any round that finished before its kill, since a busy machine can make
            // the first timing several times too long (CI once saw 10 of 12 rounds finish).
            let probe = directory.child("probe")
            _ = try Products.run("/bin/cp", ["-r", path, probe])
            let started = ContinuousClock.now
            #expect(try Products.cashet("compact", "--store", probe).status == 0)
            let fullRun = ContinuousClock.now - started
            var window = max(fullRun, .milliseconds(20))
            var outcomes: [String: Int] = [:]
            for round in 0..<12 {
                let copy = directory.child("copy-\(round)")
                _ = try Products.run("/bin/cp", ["-r", path, copy])
                let process = try Products.startCLI(["compact", "--store", copy])
                let delay = window * Double.random(in: 0..<0.9)
                try await Task.sleep(for: delay)
                if !process.isRunning { window = max(delay, .milliseconds(20)) }
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                outcomes[process.terminationReason == .uncaughtSignal ? "killed" : "finished", default: 0] += 1

                #expect(try Products.cashet("log", "--json", "--store", copy).stdout == log, "round \(round): commits changed")
                #expect(NSDictionary(dictionary: try Self.stats(copy)) == NSDictionary(dictionary: stats), "round \(round)")
                let fsck = try Products.cashet("fsck", "--store", copy)
                #expect(fsck.status == 0, "round \(round): \(fsck.stdout)")
                // A later compact finishes the job and clears what a killed one left.
                #expect(try Products.cashet("compact", "--store", copy).status == 0)
                #expect(!(try FileManager.default.contentsOfDirectory(atPath: copy)).contains { $0.hasPrefix("rebuild.") })
                try FileManager.default.removeItem(atPath: copy)
            }
            print("compact killed at random: \(outcomes) (a full run took \(fullRun), the last window \(window))")
            #expect((outcomes["killed"] ?? 0) >= 3, "\(outcomes): the kills came too late to test anything")
        }
    }
}
