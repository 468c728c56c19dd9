// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "numerics-lite",
    products: [.library(name: "NumericsLite", targets: ["NumericsLite"])],
    targets: [.target(name: "NumericsLite")]
)
