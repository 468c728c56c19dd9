// swift-tools-version:6.1
// Tests of @Cached as a user sees it: targets that apply CashetIdentityPlugin. They live in
// their own package because SwiftPM builds a plugin's tool (and so swift-syntax) for every
// build of a package in which any target applies the plugin, even `--product cashet-demo`.
// Run: swift test --package-path IntegrationTests (scripts/test.sh does).
import PackageDescription

let package = Package(
    name: "CashetIntegrationTests",
    platforms: [.macOS(.v15)],
    dependencies: [
        // `name:` makes `package: "cashet"` work whatever the checkout's folder is called.
        .package(name: "cashet", path: ".."),
    ],
    targets: [
        // The root package's test support, through a symbolic link: it is not a product.
        .target(name: "CashetTestSupport"),
        .executableTarget(
            name: "IdentityProbe",
            dependencies: [.product(name: "CashetMacros", package: "cashet")],
            plugins: [.plugin(name: "CashetIdentityPlugin", package: "cashet")]
        ),
        .testTarget(
            name: "CachedMacroUseTests",
            dependencies: [
                "IdentityProbe",
                .product(name: "CashetMacros", package: "cashet"),
                "CashetTestSupport",
            ],
            plugins: [.plugin(name: "CashetIdentityPlugin", package: "cashet")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
