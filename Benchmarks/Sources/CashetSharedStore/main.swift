import Cashet
import CashetPostgres
import Foundation

// The shared store's costs (scripts/bench-shared.sh starts the PostgreSQL cluster it needs):
//   CashetSharedStore hits URL DIR N       → JSON: per-call hit latency (median, p99, in µs) of
//       a plain LMDB store (the baseline), a tiered store's local tier, a tiered store whose
//       local tier is empty (remote hit + copy down), and PostgresStore alone
//   CashetSharedStore misses URL DIR FIRST COUNT → JSON: seconds for COUNT distinct misses run
//       and recorded by one writer through a tiered store (the script runs 1 and 4 such
//       processes at once), and, with FIRST = 0, the same on a plain LMDB store (calls/s) as
//       the baseline
// Every latency is of `submit` + `load`, the whole hit as a caller sees it.

let arguments = CommandLine.arguments
let square = CachedFunction("square", version: "1") { (x: Int) -> [Int] in Array(repeating: x, count: 16) }
let clock = ContinuousClock()

func microseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
}

/// Median and 99th percentile, in µs, of `submit` + `load` of square(x) for each x.
func hitLatency(_ client: Client, _ inputs: Range<Int>) async throws -> [String: Double] {
    var samples: [Double] = []
    samples.reserveCapacity(inputs.count)
    for x in inputs {
        let start = clock.now
        let ref = try await client.submit(square, x)
        _ = try await ref.load()
        samples.append(microseconds(clock.now - start))
        guard ref.wasCached else { fatalError("call \(x) missed; the benchmark expects hits") }
    }
    samples.sort()
    return ["median_us": samples[samples.count / 2], "p99_us": samples[samples.count * 99 / 100]]
}

/// Runs square(x) for x in `inputs` (all misses); returns the seconds it took.
func missSeconds(_ client: Client, _ inputs: Range<Int>) async throws -> Double {
    let elapsed = try await clock.measure {
        for x in inputs { _ = try await client.submit(square, x) }
    }
    return microseconds(elapsed) / 1e6
}

func json(_ values: [String: Any]) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: values, options: [.sortedKeys]), as: UTF8.self)
}

switch arguments.dropFirst().first {
case "hits":
    guard arguments.count == 5, let count = Int(arguments[4]) else { fatalError("usage: hits URL DIR N") }
    let url = arguments[2], directory = arguments[3]
    let inputs = 0..<count
    // Fill PostgreSQL and a local tier, and a plain LMDB store as the baseline.
    let filler = Client(store: TieredStore(local: try LMDBStore(directory + "/filled"), remote: try await PostgresStore(url: url)))
    for x in inputs { _ = try await filler.submit(square, x) }
    let lmdb = try Client(path: directory + "/plain")
    for x in inputs { _ = try await lmdb.submit(square, x) }
    let postgres = Client(store: try await PostgresStore(url: url))
    let empty = Client(store: TieredStore(local: try LMDBStore(directory + "/empty"), remote: try await PostgresStore(url: url)))
    var results: [String: Any] = [:]
    results["lmdb"] = try await hitLatency(lmdb, inputs)
    results["tiered_local"] = try await hitLatency(filler, inputs)
    results["tiered_remote_fill"] = try await hitLatency(empty, inputs)
    results["postgres"] = try await hitLatency(postgres, inputs)
    results["calls"] = count
    print(json(results))
    for client in [filler, lmdb, postgres, empty] { await client.close() }
case "misses":
    guard arguments.count == 6, let first = Int(arguments[4]), let count = Int(arguments[5]) else { fatalError("usage: misses URL DIR FIRST COUNT") }
    let url = arguments[2], directory = arguments[3]
    let tiered = Client(store: TieredStore(local: try LMDBStore(directory + "/writer-\(first)"), remote: try await PostgresStore(url: url)))
    var results: [String: Any] = ["calls": count]
    results["tiered_seconds"] = try await missSeconds(tiered, first..<(first + count))
    if first == 0 {
        let lmdb = try Client(path: directory + "/plain-misses-\(UUID().uuidString)")
        results["lmdb_per_s"] = Double(count) / (try await missSeconds(lmdb, 0..<count))
        await lmdb.close()
    }
    await tiered.close()
    print(json(results))
default:
    fatalError("usage: CashetSharedStore hits URL DIR N | misses URL DIR FIRST COUNT")
}
