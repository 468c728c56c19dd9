import Cashet
import Foundation

// Builds a store of N small commits for the CLI and scale benchmarks (scripts/bench-cli.sh,
// scripts/scale.sh):
//   CashetStoreGenerator STORE N
// 100 functions, ~100-byte results, a tag per commit, and one commit in 50 a re-run (a child
// commit with a parent), written with `map` (group commit, durable) in rounds of 100,000 calls.
// Appends to an existing store: running it again with a larger N adds the missing commits.
// Prints one JSON line: {"commits": N, "added": A, "seconds": S, "per_second": R}.

struct Row: Codable, Sendable {
    var id: Int
    var label: String
    var values: [Double]
}

let arguments = CommandLine.arguments
guard arguments.count == 3, let total = Int(arguments[2]), total > 0 else {
    FileHandle.standardError.write(Data("usage: CashetStoreGenerator STORE N\n".utf8))
    exit(2)
}

/// Function `f`; `rerun` gives the same identity with the cache off (every call runs and
/// records a child of the call's previous commit).
func step(_ f: Int, rerun: Bool = false) -> CachedFunction<Int, Row> {
    CachedFunction("step_\(f)", version: "1", tags: ["shard": "\(f % 16)"], cache: !rerun) { (chunk: Int) in
        Row(id: chunk, label: "chunk-\(chunk)-of-step-\(f)", values: [Double(chunk), 1.5, 2.5, 3.5])
    }
}

var configuration = LMDBStore.Configuration()
configuration.initialMapSize = 1 << 30
configuration.migration = .manual   // a store grown in steps keeps the schema it was made with
// CASHET_SCHEMA=2 creates a new store with schema 2 (an existing store keeps its own).
if let schema = ProcessInfo.processInfo.environment["CASHET_SCHEMA"].flatMap(UInt32.init).flatMap(LMDBStore.Schema.init) {
    configuration.schema = schema
}
let client = Client(store: try LMDBStore(arguments[1], configuration: configuration))
let existing = try await client.stats().commits
let start = Date()
var made = existing
while made < total {
    // Commits are numbered; commit k is step_(k % 100)(k), except every 50th, which re-runs
    // commit k - 49 (same function and argument, cache off).
    let round = made..<min(made + 100_000, total)
    var firsts: [Int: [Int]] = [:], reruns: [Int: [Int]] = [:]
    for k in round {
        if k % 50 == 49 { reruns[(k - 49) % 100, default: []].append(k - 49) } else { firsts[k % 100, default: []].append(k) }
    }
    for (f, inputs) in firsts.sorted(by: { $0.key < $1.key }) { _ = try await client.map(step(f), over: inputs, maxConcurrency: 4) }
    for (f, inputs) in reruns.sorted(by: { $0.key < $1.key }) { _ = try await client.map(step(f, rerun: true), over: inputs, maxConcurrency: 4) }
    made = round.upperBound
    FileHandle.standardError.write(Data("\(made) commits (\(Int(Double(made - existing) / Date().timeIntervalSince(start)))/s)\n".utf8))
}
await client.close()
let seconds = Date().timeIntervalSince(start)
print("{\"commits\": \(made), \"added\": \(made - existing), \"seconds\": \(String(format: "%.2f", seconds)), \"per_second\": \(Int(Double(made - existing) / max(seconds, 1e-9)))}")
