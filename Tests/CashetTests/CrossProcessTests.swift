@testable import Cashet
import CashetTestSupport
import Foundation
import Synchronization
import Testing

/// The same shape as the helper's payload: the fingerprint must not depend on which process
/// (or hash seed, or insertion order) built the value.
private struct Payload: CashetValue, Hashable {
    var name: String
    var weights: [String: Double]
    var labels: Set<String>
}

@Suite("Across processes")
struct CrossProcessTests {
    @Test("a restarted process hits what an earlier process computed, and runs nothing")
    func restartHits() async throws {
        let directory = TemporaryDirectory()
        let store = directory.child("store"), log = directory.child("executions.log")
        let first = try Products.run(Products.helper, ["submit", store, "7", log])
        let second = try Products.run(Products.helper, ["submit", store, "7", log])
        let other = try Products.run(Products.helper, ["submit", store, "8", log])
        #expect(first.status == 0 && second.status == 0 && other.status == 0, "\(first.stderr)\(second.stderr)")
        #expect(first.stdout.hasPrefix("49 miss"))
        #expect(second.stdout.hasPrefix("49 hit"))
        #expect(other.stdout.hasPrefix("64 miss"))
        #expect(try String(contentsOfFile: log, encoding: .utf8) == "ran 7\nran 8\n")
        // This process opens the store the helpers wrote and hits too.
        let runs = ExecutionCounter()
        let square = CachedFunction("square", version: "1") { (x: Int) in runs.tick(); return x * x }
        let client = try Client(path: store)
        let ref = try await client.submit(square, 7)
        let value = try await ref.load()
        #expect(ref.wasCached && runs.value == 0 && value == 49)
        #expect(first.stdout.contains(ref.commit.hex))
    }

    @Test("a store at a relative path of one component (like the default .cashet) is created in the working directory")
    func relativeStorePath() throws {
        let directory = TemporaryDirectory()
        for store in [".cashet", "nested/store"] {
            let result = try Products.run(Products.helper, ["submit", store, "5", "log"], in: directory.path)
            #expect(result.status == 0 && result.stdout.hasPrefix("25 miss"), "\(store): \(result.stderr)")
            #expect(FileManager.default.fileExists(atPath: directory.child(store) + "/data.mdb"), "\(store)")
        }
    }

    @Test("dictionary, set and float arguments fingerprint identically in separate processes")
    func fingerprintsAgree() throws {
        let runs = try (0..<3).map { _ in try Products.run(Products.helper, ["fingerprint"]) }
        #expect(runs.allSatisfy { $0.status == 0 })
        let outputs = Set(runs.map(\.stdout))
        #expect(outputs.count == 1, "fingerprints differ between processes: \(outputs)")

        // And this process, building the values in yet another order, agrees.
        var weights: [String: Double] = [:]
        for key in ["kappa", "omega", "beta", "mu", "alpha", "zeta"] { weights[key] = Double(key.count) / 3 }
        let labels: Set<String> = ["magenta", "cyan", "blue", "green", "red"]
        var nested: [Int: Set<Int>] = [:]
        for i in (0..<20).reversed() { nested[i] = Set((0..<i).reversed()) }
        let probe = CachedFunction("probe", version: "1") { (_: Payload, _: [String: Double], _: Set<String>, _: [Int: Set<Int>], _: [Double], _: String) in 0 }
        let mine = try probe.fingerprint(Payload(name: "p", weights: weights, labels: labels), weights, labels, nested,
                                         [-Double.nan, -0.0, 0.0, .infinity], "héllo")
        let lines = runs[0].stdout.split(separator: "\n")
        #expect(lines.first.map(String.init) == mine.description)
        #expect(lines.count == 2 && lines[0] != lines[1])
    }

    /// The race behind a CI failure of `simultaneousCreation`: the store's directory appeared
    /// between "it does not open as a directory" and "something is there", and the opener said
    /// the path was a file. Here another thread makes and removes the directory in a loop.
    @Test("a store directory made by someone else while it is being opened is never called a file")
    func directoryAppearingIsNotAFile() throws {
        let directory = TemporaryDirectory()
        let store = directory.child("store")
        let stop = Atomic<Bool>(false)
        Thread {
            while !stop.load(ordering: .relaxed) { mkdir(store, 0o755); rmdir(store) }
        }.start()
        defer { stop.store(true, ordering: .relaxed) }
        var calledAFile = 0
        for _ in 0..<200_000 {
            do {
                try LMDBStore.prepareDirectory(store, create: false, mode: 0o755)
            } catch where error.message.contains("is a file") {
                calledAFile += 1
            } catch {}
        }
        #expect(calledAFile == 0, "\(calledAFile) of 200,000 opens called the appearing directory a file")
    }

    @Test("eight processes creating the same new store at once all succeed; none wipes another's work", arguments: 0..<4)
    func simultaneousCreation(round: Int) async throws {
        let directory = TemporaryDirectory()
        let store = directory.child("store"), log = directory.child("executions.log")
        let processes = try (1...8).map { n in try Products.startHelper(["submit", store, "\(n)", log], output: directory.child("out-\(n)")) }
        for process in processes { process.waitUntilExit() }
        for (n, process) in zip(1..., processes) {
            let output = (try? String(contentsOfFile: directory.child("out-\(n)"), encoding: .utf8)) ?? ""
            #expect(process.terminationStatus == 0 && output.hasPrefix("\(n * n) miss"), "round \(round), process \(n): \(output)")
        }
        let client = try Client(path: store)
        #expect(try await client.stats().commits == 8)
        #expect(try await client.fsck().problems.isEmpty)
    }
}
