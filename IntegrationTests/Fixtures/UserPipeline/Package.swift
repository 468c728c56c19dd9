// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "UserPipeline",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "cashet", path: "@CASHET_PATH@"),
        .package(path: "../local-dep"),
        .package(url: "@NUMERICS_URL@", exact: "@NUMERICS_VERSION@"),
    ],
    targets: [
        .target(name: "Core", dependencies: [.product(name: "NumericsLite", package: "numerics-lite")]),
        .executableTarget(
            name: "Pipeline",
            dependencies: ["Core", .product(name: "LocalDep", package: "local-dep"), .product(name: "CashetMacros", package: "cashet")],
            plugins: [.plugin(name: "CashetIdentityPlugin", package: "cashet")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
