import Cashet
import CashetTestSupport
import Foundation

// The compare-peers workloads on cashet-swift (scripts/compare-peers.sh); the same workloads
// on the Python peers are in scripts/peers/workloads.py:
//   CashetPeerWorkloads DIR all        → one JSON object with every measurement
//   CashetPeerWorkloads DIR hit-once   → one hit of small(1) (timed from outside, with process start)
//   CashetPeerWorkloads DIR fill N     → a store of N small entries, for the CLI timings

struct Small: Codable, Sendable {
    var id: Int
    var label: String
    var values: [Double]
}

struct Chunk: Codable, Sendable {
    var chunk: Int
    var version: Int
    var sum: Int
}

let small = CachedFunction("small", version: "1") { (i: Int) in
    Small(id: i, label: "result-\(i)-abcdefghijklmnopqrstuvwxyz", values: [1.5, 2.5, 3.5, 4.5, 5.5, 6.5])
}
let chunk = CachedFunction("chunk", version: "1") { (i: Int, version: Int) in Chunk(chunk: i, version: version, sum: i * 3 + version) }

/// 8 MiB of incompressible bytes, the same SplitMix64 stream as workloads.py; made before the clock starts.
func splitmix(seed: UInt64, count: Int) -> [UInt8] {
    var state = seed
    var out = [UInt8]()
    out.reserveCapacity(count)
    while out.count < count {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        withUnsafeBytes(of: z.littleEndian) { out.append(contentsOf: $0) }
    }
    return out
}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: CashetPeerWorkloads DIR all|large|hit-once|fill N\n".utf8))
    exit(2)
}
let directory = arguments[1]
let clock = ContinuousClock()

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// The middle value (the upper middle of an even count).
func median(_ values: [Double]) -> Double {
    values.sorted()[values.count / 2]
}

/// Prints one measurement set as a line of JSON, the form compare.py reads.
func printJSON(_ results: [String: Double]) throws {
    let data = try JSONSerialization.data(withJSONObject: results, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

/// An 8 MiB result stored (a first call) and loaded (a second call), in `rounds` rounds of new
/// results: the medians, as workloads.py measures them (one sample per run was too noisy).
func largeResults(in directory: String, rounds: Int = 5) async throws -> [String: Double] {
    let payloads = (0..<rounds).map { splitmix(seed: UInt64(7 + $0), count: 8 << 20) }
    let large = CachedFunction("large", version: "1") { (round: Int) in payloads[round] }
    let blobs = Client(store: try LMDBStore(directory), serializer: RawBytesSerializer())
    var storeTimes: [Double] = [], loadTimes: [Double] = []
    for round in 0..<rounds {
        var stored: [UInt8] = []
        storeTimes.append(seconds(try await clock.measure { stored = try await blobs.submit(large, round).load() }))
        var loaded: [UInt8] = []
        loadTimes.append(seconds(try await clock.measure { loaded = try await blobs.submit(large, round).load() }))
        guard stored == payloads[round], loaded == payloads[round] else { fatalError("the 8 MiB result did not round-trip") }
    }
    return ["large_store_s": median(storeTimes), "large_load_s": median(loadTimes)]
}

switch arguments[2] {
case "large":
    try printJSON(try await largeResults(in: directory + "/large"))
case "hit-once":
    _ = try await Client(path: directory + "/main").submit(small, 1).load()
case "fill":
    let client = try Client(path: directory)
    _ = try await client.map(small, over: Array(0..<(Int(arguments[3]) ?? 20_000)))
case "all":
    var results: [String: Double] = [:]
    let client = try Client(path: directory + "/main")
    _ = try await client.submit(small, 1).load()
    var times: [Double] = []
    for _ in 0..<20_000 {
        times.append(seconds(try await clock.measure { _ = try await client.submit(small, 1).load() }) * 1e6)
    }
    results["hit_us"] = median(times)

    let cold = 5_000   // several flush intervals: a sustained rate
    results["cold_misses_per_s"] = Double(cold) / seconds(try await clock.measure {
        for i in 0..<cold { _ = try await client.submit(small, 1_000_000 + i).load() }
    })

    // One call at a time, as the Python peers do (`map` would batch the cold run).
    let chunks = try Client(path: directory + "/chunks")
    results["chunks_cold_s"] = seconds(try await clock.measure {
        for i in 0..<20_000 { _ = try await chunks.submit(chunk, i, 0).load() }
    })
    results["chunks_rerun_s"] = seconds(try await clock.measure {
        for i in 0..<20_000 { _ = try await chunks.submit(chunk, i, i < 1_000 ? 1 : 0).load() }
    })
    await chunks.close()   // as a program ends: the journal applied
    results["bytes_per_entry"] = Double(allocatedBytes(under: directory + "/chunks")) / 21_000
    // gc empties a copy: the CLI timings that follow need the chunk store whole.
    try FileManager.default.copyItem(atPath: directory + "/chunks", toPath: directory + "/gc-copy")
    let copy = try Client(path: directory + "/gc-copy")
    results["gc_all_s"] = seconds(try await clock.measure {
        _ = try await copy.gc(EvictionPolicy(olderThan: Date().addingTimeInterval(60)))
    })

    results.merge(try await largeResults(in: directory + "/large")) { $1 }
    try printJSON(results)
default:
    FileHandle.standardError.write(Data("unknown mode \(arguments[2])\n".utf8))
    exit(2)
}
