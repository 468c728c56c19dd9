import Cashet
import Foundation

// `map` throughput on trivial calls, against one-at-a-time `submit` in the same run:
//   CashetMapThroughput [N]        (default 100,000)
//   CashetMapThroughput N misses   (one map over N misses only, for profilers; environment:
//                                   BATCH, FLUSH_MS for map's group commit, NOSYNC=1, UNCACHED=1)
// 1. map over N new inputs: every call a miss, recorded by group commit (default durability);
// 2. map over the same N inputs again: every call a hit;
// baselines: 1,000 sequential `submit` misses (the journal: no sync per call) and N sequential
// `submit` hits of the same calls. Best of 3 runs, each on a fresh store.

let total = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 100_000 : 100_000
let double = CachedFunction("double", version: "1") { (x: Int) -> Int in x * 2 }
let clock = ContinuousClock()

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

struct Run {
    var mapMisses = 0.0, mapHits = 0.0, submitMisses = 0.0, submitHits = 0.0
}

func measure() async throws -> Run {
    let path = NSTemporaryDirectory() + "cashet-map-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: path) }
    let client = try Client(path: path)
    var run = Run()
    let inputs = Array(0..<total)
    var refs: [ResultRef<Int>] = []
    run.mapMisses = Double(total) / seconds(try await clock.measure { refs = try await client.map(double, over: inputs, maxConcurrency: 8) })
    guard refs.count == total, !refs[0].wasCached else { fatalError("map did not run the misses") }
    run.mapHits = Double(total) / seconds(try await clock.measure { refs = try await client.map(double, over: inputs, maxConcurrency: 8) })
    guard refs.allSatisfy(\.wasCached) else { fatalError("map missed on the second pass") }

    let sequential = 1000
    run.submitMisses = Double(sequential) / seconds(try await clock.measure {
        for x in total..<(total + sequential) { _ = try await client.submit(double, x) }
    })
    run.submitHits = Double(total) / seconds(try await clock.measure {
        for x in 0..<total { _ = try await client.submit(double, x) }
    })
    return run
}

if CommandLine.arguments.count > 2, CommandLine.arguments[2] == "writer" {
    // The store's ceiling: recordBatch alone, 4,096 prepared commits per transaction.
    let path = NSTemporaryDirectory() + "cashet-map-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: path) }
    var configuration = LMDBStore.Configuration()
    if ProcessInfo.processInfo.environment["NOSYNC"] != nil { configuration.durability = .noSync }
    let store = try LMDBStore(path, configuration: configuration)
    let task = TaskDefinition(functionName: "double", functionHash: double.identity.hash, functionVersion: "1", source: nil, argumentsSnapshot: "(1)", cacheable: true)
    let entries = try (0..<total).map { x in
        CommitEntry(CommitDraft(fingerprint: try double.fingerprint(x), task: task, status: .completed, createdAt: Date()), output: try BinarySerializer().encode(x * 2))
    }
    let elapsed = try await clock.measure {
        for start in stride(from: 0, to: total, by: 4096) { _ = try await store.recordBatch(Array(entries[start..<min(start + 4096, total)])) }
    }
    print(String(format: "recordBatch alone: %.0f commits/s", Double(total) / seconds(elapsed)))
    exit(0)
}

if CommandLine.arguments.count > 2, CommandLine.arguments[2] == "misses" {
    let path = NSTemporaryDirectory() + "cashet-map-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: path) }
    let environment = ProcessInfo.processInfo.environment
    var configuration = LMDBStore.Configuration()
    if environment["NOSYNC"] != nil { configuration.durability = .noSync }
    let client = Client(store: try LMDBStore(path, configuration: configuration))
    let function = environment["UNCACHED"] != nil ? CachedFunction("double", version: "1", cache: false) { (x: Int) -> Int in x * 2 } : double
    let batch = environment["BATCH"].flatMap(Int.init) ?? 4096
    let flush = Duration.milliseconds(environment["FLUSH_MS"].flatMap(Int.init) ?? 100)
    let elapsed = try await clock.measure { _ = try await client.map(function, over: Array(0..<total), maxConcurrency: 8, batchSize: batch, flushInterval: flush) }
    print(String(format: "map misses: %.0f calls/s", Double(total) / seconds(elapsed)))
    exit(0)
}

var best = Run()
for _ in 0..<3 {
    let run = try await measure()
    best.mapMisses = max(best.mapMisses, run.mapMisses)
    best.mapHits = max(best.mapHits, run.mapHits)
    best.submitMisses = max(best.submitMisses, run.submitMisses)
    best.submitHits = max(best.submitHits, run.submitHits)
}
print("| operation (\(total) calls, best of 3) | calls/s | vs one-at-a-time `submit` |")
print("|---|---|---|")
print(String(format: "| `map`, all misses (group commit) | %.0f | %.1f× |", best.mapMisses, best.mapMisses / best.submitMisses))
print(String(format: "| `map`, all hits | %.0f | %.1f× |", best.mapHits, best.mapHits / best.submitHits))
print(String(format: "| baseline: `submit` misses, one at a time (default durability: the journal) | %.0f | 1.0× |", best.submitMisses))
print(String(format: "| baseline: `submit` hits | %.0f | 1.0× |", best.submitHits))
