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

/// `SmallResult` with the fast path `@BinaryDecodable` gives it, written out as the macro expands
/// it (BinaryDecodableMacroTests checks that expansion): the Benchmarks package does not build
/// swift-syntax in release.
struct FastSmallResult: Codable, Sendable {
    var id: Int
    var label: String
    var values: [Double]
}

extension FastSmallResult: BinaryDecodable {
    init(binaryFields fields: inout BinaryFields) throws {
        self.id = try fields.next(#"id"#)
        self.label = try fields.next(#"label"#)
        self.values = try fields.next(#"values"#)
    }
}

let small = CachedFunction("small", version: "1") { (id: Int) in
    SmallResult(id: id, label: "result-\(id)-abcdefghijklmnopqrstuvwxyz", values: [1.5, 2.5, 3.5, 4.5, 5.5, 6.5])
}

let smallFast = CachedFunction("small-fast", version: "1") { (id: Int) in
    FastSmallResult(id: id, label: "result-\(id)-abcdefghijklmnopqrstuvwxyz", values: [1.5, 2.5, 3.5, 4.5, 5.5, 6.5])
}

let arguments = CommandLine.arguments
guard arguments.count == 3, let iterations = Int(arguments[2]) else {
    print("usage: CashetHotPath decode|decode-fast|codable-floor|by-hand|fingerprint|head|blob|submit|submit-load|submit-load-fast|miss|miss-normal|miss-nosync[@pool] ITERATIONS")
    exit(2)
}
let path = NSTemporaryDirectory() + "cashet-hotpath-" + UUID().uuidString
defer { try? FileManager.default.removeItem(atPath: path) }
var configuration = LMDBStore.Configuration()
let mode = arguments[1].replacingOccurrences(of: "@pool", with: "")
if mode.hasSuffix("nosync") { configuration.durability = .noSync }
if mode.hasSuffix("normal") { configuration.durability = .normal }
// CASHET_SCHEMA=2: the store is created with schema 2.
if let schema = ProcessInfo.processInfo.environment["CASHET_SCHEMA"].flatMap(UInt32.init).flatMap(LMDBStore.Schema.init) {
    configuration.schema = schema
}
let store = try LMDBStore(path, configuration: configuration)
let client = Client(store: store)
let ref = try await client.submit(small, 1)
_ = try await client.submit(smallFast, 1)
let bytes = try await ref.loadBytes()
let fingerprint = try small.fingerprint(1)

/// What one run of the loop needs, handed to a detached task as one value.
struct Setup: Sendable {
    let store: LMDBStore, client: Client, ref: ResultRef<SmallResult>, bytes: [UInt8], fingerprint: Fingerprint, iterations: Int
}

/// Runs `operation` `iterations` times; returns a sink the optimizer cannot drop.
func run(_ operation: String, _ setup: Setup) async throws -> Int {
    var sink = 0
    let (store, client, iterations) = (setup.store, setup.client, setup.iterations)
    switch operation {
    case "decode": for _ in 0..<iterations { sink &+= try BinarySerializer().decode(SmallResult.self, from: setup.bytes).id }
    case "decode-fast": for _ in 0..<iterations { sink &+= try BinarySerializer().decode(FastSmallResult.self, from: setup.bytes).id }
    case "codable-floor": for _ in 0..<iterations { sink &+= try CodableFloor.decode(setup.bytes).id }
    case "by-hand": for _ in 0..<iterations { sink &+= CodableFloor.byHand(setup.bytes).values.count }
    case "fingerprint": for _ in 0..<iterations { sink &+= try small.fingerprint(1).hashValue }
    case "head": for _ in 0..<iterations { sink &+= try await store.head(for: setup.fingerprint) == nil ? 0 : 1 }
    case "blob": for _ in 0..<iterations { sink &+= try await store.blob(setup.ref.hash).count }
    case "submit": for _ in 0..<iterations { sink &+= try await client.submit(small, 1).size }
    case "submit-load": for _ in 0..<iterations { sink &+= try await client.submit(small, 1).load().id }
    case "submit-load-fast": for _ in 0..<iterations { sink &+= try await client.submit(smallFast, 1).load().id }
    case "miss", "miss-normal", "miss-nosync": for i in 0..<iterations { sink &+= try await client.submit(small, i + 2).size }
    default: print("unknown operation \(operation)"); exit(2)
    }
    return sink
}

// An operation named with "@pool" runs its loop in a detached task, off the main actor that
// top-level code runs on: a miss's body then needs no hop (it runs on the global executor).
let setup = Setup(store: store, client: client, ref: ref, bytes: bytes, fingerprint: fingerprint, iterations: iterations)
let clock = ContinuousClock()
var sink = 0
let elapsed: Duration
if arguments[1].hasSuffix("@pool") {
    (elapsed, sink) = try await Task.detached {
        var sink = 0
        let elapsed = try await ContinuousClock().measure { sink = try await run(mode, setup) }
        return (elapsed, sink)
    }.value
} else {
    elapsed = try await clock.measure { sink = try await run(mode, setup) }
}

let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
print("\(arguments[1]): \(String(format: "%.0f", nanoseconds / Double(iterations))) ns/op over \(iterations) (\(sink))")
