import Cashet
import Foundation

// Measures one store built by CashetStoreGenerator (scripts/scale.sh):
//   CashetScaleProbe STORE
// Prints one JSON line with:
// - hit latency (submit + load of a ~100 B result) over 100,000 random existing calls:
//   p50/p99 in µs, each call timed alone;
// - miss latency over 300 new calls (`submit` with the default durability, removed again afterwards): p50/p99 in µs;
// - `stats()` and `log(limit: 20)` in ms (fastest of 20);
// - resident memory after the hits (VmRSS, VmHWM, MiB).

struct Row: Codable, Sendable {
    var id: Int
    var label: String
    var values: [Double]
}

func step(_ f: Int) -> CachedFunction<Int, Row> {
    CachedFunction("step_\(f)", version: "1", tags: ["shard": "\(f % 16)"]) { (chunk: Int) in
        Row(id: chunk, label: "chunk-\(chunk)-of-step-\(f)", values: [Double(chunk), 1.5, 2.5, 3.5])
    }
}

func microseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

func memory(_ field: String) -> Double {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix(field + ":") } ?? ""
    // "VmRSS:\t   37376 kB": fields split on any whitespace (large values leave no space after the tab).
    return (Double(line.split(whereSeparator: \.isWhitespace).dropFirst().first ?? "0") ?? 0) / 1024
}

guard CommandLine.arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: CashetScaleProbe STORE\n".utf8))
    exit(2)
}
// The store as the generator left it: a schema-1 store is measured as schema 1, not migrated.
var configuration = LMDBStore.Configuration()
configuration.migration = .manual
let client = Client(store: try LMDBStore(CommandLine.arguments[1], configuration: configuration))
let commits = try await client.stats().commits
let functions = (0..<100).map(step)
let clock = ContinuousClock()
var generator = SystemRandomNumberGenerator()

// Hits: commit k (k % 50 != 49) is step_(k % 100)(k).
var hits: [Double] = []
hits.reserveCapacity(100_000)
for _ in 0..<100_000 {
    var k = Int.random(in: 0..<commits, using: &generator)
    if k % 50 == 49 { k -= 1 }
    let function = functions[k % 100]
    var value: Row?
    let elapsed = try await clock.measure { value = try await client.submit(function, k).load() }
    guard value?.id == k else { fatalError("call \(k) was not a hit with the right value") }
    hits.append(microseconds(elapsed))
}
hits.sort()
let rss = memory("VmRSS"), hwm = memory("VmHWM")

var misses: [Double] = []
var made: [ContentHash] = []
for i in 0..<300 {
    let k = commits * 10 + i   // never made by the generator
    var ref: ResultRef<Row>?
    misses.append(microseconds(try await clock.measure { ref = try await client.submit(functions[k % 100], k) }))
    made.append(ref!.commit)
}
misses.sort()
// Leave the store as the generator numbers it.
for commit in made { _ = try await client.rm(commit.hex) }

func fastest(_ body: () async throws -> Void) async throws -> Double {
    var best = Double.infinity
    for _ in 0..<20 { best = min(best, microseconds(try await clock.measure { try await body() }) / 1000) }
    return best
}
let statsMs = try await fastest { _ = try await client.stats() }
let logMs = try await fastest { _ = try await client.log(CommitQuery(limit: 20)) }

print(String(format: "{\"commits\": %d, \"hit_p50_us\": %.2f, \"hit_p99_us\": %.2f, \"miss_p50_us\": %.0f, \"miss_p99_us\": %.0f, \"stats_ms\": %.3f, \"log20_ms\": %.3f, \"rss_mib\": %.1f, \"hwm_mib\": %.1f}",
             commits, percentile(hits, 0.5), percentile(hits, 0.99), percentile(misses, 0.5), percentile(misses, 0.99), statsMs, logMs, rss, hwm))
