import Cashet
import Foundation

// Builds a store of N small commits for CLI and scale benchmarks (scripts/bench-cli.sh):
//   CashetStoreGenerator STORE N
// 100 functions, ~100-byte results, a tag per commit, and one commit in 50 a re-run (a child
// commit with a parent), written with `.noSync` (a benchmark fixture needs no fsync per write).
// Appends to an existing store: running it again with a larger N adds the missing commits.

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
var configuration = LMDBStore.Configuration()
configuration.durability = .noSync
configuration.initialMapSize = 1 << 30
let store = try LMDBStore(arguments[1], configuration: configuration)
let client = Client(store: store)
let functions = (0..<100).map { f in
    CachedFunction("step_\(f)", version: "1") { (chunk: Int) in
        Row(id: chunk, label: "chunk-\(chunk)-of-step-\(f)", values: [Double(chunk), 1.5, 2.5, 3.5])
    }
}
let existing = try await client.stats().commits
let start = Date()
var made = existing
while made < total {
    let chunk = made
    // Every 50th commit re-runs the call of 49 commits before (cache off): a child commit.
    let rerun = chunk % 50 == 49
    let argument = rerun ? chunk - 49 : chunk
    _ = try await client.submit(functions[argument % functions.count], argument, cache: !rerun, tags: ["shard": "\(chunk % 16)"])
    made += 1
    if made % 100_000 == 0 {
        let rate = Double(made - existing) / Date().timeIntervalSince(start)
        FileHandle.standardError.write(Data("\(made) commits (\(Int(rate))/s)\n".utf8))
    }
}
await client.close()
print("\(made) commits in \(arguments[1]) (\(made - existing) added in \(String(format: "%.1f", Date().timeIntervalSince(start))) s)")
