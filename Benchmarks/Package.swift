// swift-tools-version:6.1
// Benchmarks live in their own package so the library never depends on the benchmark harness.
// Run from this directory: swift package --disable-sandbox benchmark --no-progress
import PackageDescription

let package = Package(
    name: "CashetBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // `name:` makes `package: "cashet"` work whatever the checkout's folder is called.
        .package(name: "cashet", path: ".."),
        // Only the MallocInterposer trait: the default traits pull in a package not mirrored here.
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The root package's test support, through a symbolic link: it is not a product.
        .target(name: "CashetTestSupport", path: "Sources/CashetTestSupport"),
        .executableTarget(
            name: "CashetBenchmarks",
            dependencies: [
                .product(name: "Cashet", package: "cashet"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/CashetBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // A plain driver of the hit path for profilers (callgrind instruction counts, perf).
        .executableTarget(
            name: "CashetHotPath",
            dependencies: [.product(name: "Cashet", package: "cashet")],
            path: "Sources/CashetHotPath"
        ),
        // map throughput: misses by group commit and hits, against one-at-a-time submit.
        .executableTarget(
            name: "CashetMapThroughput",
            dependencies: [.product(name: "Cashet", package: "cashet")],
            path: "Sources/CashetMapThroughput"
        ),
        // Hit/miss latency, stats/log time and memory on one generated store (scripts/scale.sh).
        .executableTarget(
            name: "CashetScaleProbe",
            dependencies: [.product(name: "Cashet", package: "cashet")],
            path: "Sources/CashetScaleProbe"
        ),
        // The compare-peers workloads on cashet-swift (scripts/compare-peers.sh).
        .executableTarget(
            name: "CashetPeerWorkloads",
            dependencies: [.product(name: "Cashet", package: "cashet"), "CashetTestSupport"],
            path: "Sources/CashetPeerWorkloads"
        ),
        // Builds stores of N small commits for the CLI and scale benchmarks.
        .executableTarget(
            name: "CashetStoreGenerator",
            dependencies: [.product(name: "Cashet", package: "cashet")],
            path: "Sources/CashetStoreGenerator"
        ),
        // The shared store: hit latency of each tier, miss throughput with 1 and 4 writers (scripts/bench-shared.sh).
        .executableTarget(
            name: "CashetSharedStore",
            dependencies: [
                .product(name: "Cashet", package: "cashet"),
                .product(name: "CashetPostgres", package: "cashet"),
            ],
            path: "Sources/CashetSharedStore"
        ),
        // Large-blob throughput, bytes on disk and peak memory against plain file I/O in the same run.
        .executableTarget(
            name: "CashetLargeBlobs",
            dependencies: [
                .product(name: "Cashet", package: "cashet"),
                "CashetTestSupport",
            ],
            path: "Sources/CashetLargeBlobs"
        ),
    ],
    swiftLanguageModes: [.v6]
)
