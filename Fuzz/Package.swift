// swift-tools-version:6.1
// libFuzzer targets, in their own package so the library's build never needs -sanitize=fuzzer.
// Built and run by scripts/fuzz.sh (swift build --sanitize=fuzzer --sanitize=address).
import PackageDescription

let package = Package(
    name: "CashetFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        // `name:` makes `package: "cashet"` work whatever the checkout's folder is called.
        .package(name: "cashet", path: ".."),
    ],
    targets: [
        // One binary for every target in Cashet's FuzzTarget; CASHET_FUZZ_TARGET picks one.
        // libFuzzer supplies `main`, so the file is not main.swift.
        .executableTarget(
            name: "CashetFuzz",
            dependencies: [.product(name: "Cashet", package: "cashet")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ],
    swiftLanguageModes: [.v6]
)
