// swift-tools-version:6.1
import CompilerPluginSupport
import PackageDescription

let package = Package(
    name: "cashet",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Cashet", targets: ["Cashet"]),
        .library(name: "CashetMacros", targets: ["CashetMacros"]),
        // The shared PostgreSQL store, a product of its own so users of the local store never build
        // the PostgreSQL client.
        .library(name: "CashetPostgres", targets: ["CashetPostgres"]),
        // `cashet serve`'s HTTP server and web UI, a product of its own so users of the library
        // never build Hummingbird.
        .library(name: "CashetServer", targets: ["CashetServer"]),
        .plugin(name: "CashetIdentityPlugin", targets: ["CashetIdentityPlugin"]),
        .executable(name: "cashet", targets: ["CashetCLI"]),
        .executable(name: "cashet-demo", targets: ["CashetDemo"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        // 1.7: `@ParentCommand`.
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.7.0"),
        .package(url: "https://github.com/swiftlang/swift-syntax.git", from: "603.0.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        // Without its default traits: no swift-configuration support, Foundation only as needed.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        // `swift package generate-documentation` (scripts/docs.sh): a command plugin, built only when run.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin.git", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CCashetLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"]), .brew(["lmdb"])]
        ),
        .systemLibrary(
            name: "CCashetZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"]), .brew(["zstd"])]
        ),
        .systemLibrary(
            name: "CCashetXXHash",
            pkgConfig: "libxxhash",
            providers: [.apt(["libxxhash-dev"]), .brew(["xxhash"])]
        ),
        // The few system calls the Glibc module does not export.
        .target(name: "CCashetSystem"),
        .target(
            name: "Cashet",
            dependencies: [
                "CCashetLMDB", "CCashetZstd", "CCashetXXHash", "CCashetSystem",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "CashetPostgres",
            dependencies: [
                "Cashet",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Normalization and identity hashing of Swift source: no macro plumbing, used by the
        // macro and the build-tool plugin, tested on strings.
        .target(
            name: "CashetIdentity",
            dependencies: [
                .product(name: "SwiftSyntax", package: "swift-syntax"),
                .product(name: "SwiftParser", package: "swift-syntax"),
            ]
        ),
        // @Cached, kept out of `Cashet` so the runtime builds without swift-syntax.
        .target(
            name: "CashetMacros",
            dependencies: ["Cashet", "CashetMacroPlugin"]
        ),
        .macro(
            name: "CashetMacroPlugin",
            dependencies: [
                "CashetIdentity",
                .product(name: "SwiftSyntaxMacros", package: "swift-syntax"),
                .product(name: "SwiftCompilerPlugin", package: "swift-syntax"),
            ]
        ),
        // Hashes a target's functions and their call graph at build time; targets that use
        // @Cached apply it (see README).
        .executableTarget(
            name: "CashetIdentityTool",
            dependencies: ["CashetIdentity"]
        ),
        .plugin(
            name: "CashetIdentityPlugin",
            capability: .buildTool(),
            dependencies: ["CashetIdentityTool"]
        ),
        .target(
            name: "CashetServer",
            dependencies: [
                "Cashet",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "CashetCLI",
            dependencies: [
                "Cashet", "CashetPostgres", "CashetServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "CashetDemo",
            dependencies: ["Cashet", "CashetPostgres", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Temp directories, counters and subprocess runners for the tests. Not a product: users never
        // see it. Benchmarks/ and IntegrationTests/ build the same sources as a target of their own
        // through a symbolic link (Sources/CashetTestSupport in each).
        .target(name: "CashetTestSupport"),
        // A small program the tests run as a real second process (restarts, cross-process hashing).
        .executableTarget(
            name: "CashetTestHelper",
            dependencies: ["Cashet", "CashetPostgres", "CashetTestSupport"]
        ),
        .testTarget(
            name: "CashetIdentityTests",
            dependencies: ["CashetIdentity", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(
            name: "CashetMacrosTests",
            dependencies: [
                "CashetMacroPlugin",
                .product(name: "SwiftSyntaxMacrosGenericTestSupport", package: "swift-syntax"),
            ]
        ),
        .testTarget(
            name: "CashetTests",
            dependencies: [
                "Cashet", "CashetMacros", "CashetPostgres", "CashetTestSupport", "CashetTestHelper", "CashetCLI", "CashetIdentityTool",
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            // Stores written by earlier releases, read from the source tree (V1FixtureTests).
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
