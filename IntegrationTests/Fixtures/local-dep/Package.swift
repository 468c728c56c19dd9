// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "local-dep",
    products: [.library(name: "LocalDep", targets: ["LocalDep"])],
    targets: [.target(name: "LocalDep")]
)
