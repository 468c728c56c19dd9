import Cashet
import Foundation

// Runs one hit-path operation N times, for instruction counts that do not depend on machine
// noise: valgrind --tool=callgrind .build/release/CashetHotPath submit-load 10000
// (callgrind_annotate then gives instructions per call of each function).

struct SmallResult: Codable, Sendable {
    var id: Int
    var label: String
    var values: [Double]
}

let small = CachedFunction("small", version: "1") { (id: Int) in
    SmallResult(id: id, label: "result-\(id)-abcdefghijklmnopqrstuvwxyz", values: [1.5, 2.5, 3.5, 4.5, 5.5, 6.5])
}

let arguments = CommandLine.arguments
guard arguments.count == 3, let iterations = Int(arguments[2]) else {
    print("usage: CashetHotPath decode|fingerprint|head|blob|submit|submit-load|miss|miss-normal|miss-nosync ITERATIONS")
    exit(2)
}
let path = NSTemporaryDirectory() + "cashet-hotpath-" + UUID().uuidString
defer { try? FileManager.default.removeItem(atPath: path) }
var configuration = LMDBStore.Configuration()
if arguments[1].hasSuffix("nosync") { configuration.durability = .noSync }
if arguments[1].hasSuffix("normal") { configuration.durability = .normal }
let store = try LMDBStore(path, configuration: configuration)
let client = Client(store: store)
let ref = try await client.submit(small, 1)
let bytes = try await ref.loadBytes()
let fingerprint = try small.fingerprint(1)

let clock = ContinuousClock()
var sink = 0
let elapsed = try await clock.measure {
    switch arguments[1] {
    case "decode": for _ in 0..<iterations { sink &+= try BinarySerializer().decode(SmallResult.self, from: bytes).id }
    case "fingerprint": for _ in 0..<iterations { sink &+= try small.fingerprint(1).hashValue }
    case "head": for _ in 0..<iterations { sink &+= try await store.head(for: fingerprint) == nil ? 0 : 1 }
    case "blob": for _ in 0..<iterations { sink &+= try await store.blob(ref.hash).count }
    case "submit": for _ in 0..<iterations { sink &+= try await client.submit(small, 1).size }
    case "submit-load": for _ in 0..<iterations { sink &+= try await client.submit(small, 1).load().id }
    case "miss", "miss-normal", "miss-nosync": for i in 0..<iterations { sink &+= try await client.submit(small, i + 2).size }
    default: print("unknown operation \(arguments[1])"); exit(2)
    }
}
let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
print("\(arguments[1]): \(String(format: "%.0f", nanoseconds / Double(iterations))) ns/op over \(iterations) (\(sink))")
