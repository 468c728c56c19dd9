import Benchmark
import Cashet
import Foundation

/// A result of about 100 bytes in the binary format, as a typical small cached value.
struct SmallResult: Codable, Sendable {
    var id: Int
    var label: String
    var values: [Double]
}

/// A store in a fresh temp directory (removed by the global teardown).
final class BenchmarkStore: @unchecked Sendable {
    let path = NSTemporaryDirectory() + "cashet-bench-" + UUID().uuidString
    let store: LMDBStore
    let client: Client

    init(durability: LMDBStore.Configuration.Durability = .durable) throws {
        var configuration = LMDBStore.Configuration()
        configuration.durability = durability
        store = try LMDBStore(path, configuration: configuration)
        client = Client(store: store)
    }

}

let small = CachedFunction("small", version: "1") { (id: Int) in
    SmallResult(id: id, label: "result-\(id)-abcdefghijklmnopqrstuvwxyz", values: [1.5, 2.5, 3.5, 4.5, 5.5, 6.5])
}

// Stores are globals (created lazily, once): the harness calls each closure many times.
let hitStore = try! BenchmarkStore()
let durableMissStore = try! BenchmarkStore(durability: .durable)
let noSyncMissStore = try! BenchmarkStore(durability: .noSync)
let hitFingerprint = try! small.fingerprint(1)

/// Distinct argument for every miss, across all invocations of a closure.
final class Sequence: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 1_000
    func next() -> Int { lock.withLock { value += 1; return value } }
}
let missArguments = Sequence()

let benchmarks: @Sendable () -> Void = {
    let latency = Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput, .peakMemoryResident],
        timeUnits: .nanoseconds, scalingFactor: .kilo, maxDuration: .seconds(3), thresholds: regressionThresholds)

    // Baselines measured in the same run: what a hit cannot be cheaper than.
    Benchmark("baseline: fingerprint only (canonical args + SHA-256)", configuration: latency) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try small.fingerprint(1)) }
    }

    Benchmark("baseline: store.head (one LMDB read txn + get)", configuration: latency) { benchmark async throws in
        for _ in benchmark.scaledIterations { blackHole(try await hitStore.store.head(for: hitFingerprint)) }
    } setup: {
        _ = try await hitStore.client.submit(small, 1)
    }

    Benchmark("baseline: store.blob (~100 B, one LMDB read txn)", configuration: latency) { benchmark async throws in
        let ref = try await hitStore.client.submit(small, 1)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try await hitStore.store.blob(ref.hash)) }
    }

    Benchmark("baseline: decode ~100 B result (BinarySerializer)", configuration: latency) { benchmark in
        let bytes = try BinarySerializer().encode(SmallResult(id: 1, label: "result-1-abcdefghijklmnopqrstuvwxyz", values: [1.5, 2.5, 3.5, 4.5, 5.5, 6.5]))
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try BinarySerializer().decode(SmallResult.self, from: bytes)) }
    }

    // The hit path: submit (fingerprint + head lookup) and load (blob get + decode).
    var hit = latency
    hit.thresholds = hitThresholds
    Benchmark("hit: submit", configuration: hit) { benchmark async throws in
        for _ in benchmark.scaledIterations { blackHole(try await hitStore.client.submit(small, 1)) }
    } setup: {
        _ = try await hitStore.client.submit(small, 1)
    }

    Benchmark("hit: submit + load (~100 B result)", configuration: hit) { benchmark async throws in
        for _ in benchmark.scaledIterations { blackHole(try await hitStore.client.submit(small, 1).load()) }
    } setup: {
        _ = try await hitStore.client.submit(small, 1)
    }

    // Misses: every iteration is a new call, recorded in its own write transaction.
    let misses = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        timeUnits: .microseconds, scalingFactor: .one, maxDuration: .seconds(3), maxIterations: 20_000, thresholds: regressionThresholds)

    Benchmark("miss: durable (fsync per commit)", configuration: misses) { benchmark async throws in
        blackHole(try await durableMissStore.client.submit(small, missArguments.next()))
    }

    Benchmark("miss: noSync", configuration: misses) { benchmark async throws in
        blackHole(try await noSyncMissStore.client.submit(small, missArguments.next()))
    }

    registerStoreBenchmarks()

    Benchmark.teardown = {
        for path in [hitStore.path, durableMissStore.path, noSyncMissStore.path, largeStore.path, blobStore.path, groupCommitStore.path] {
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}
