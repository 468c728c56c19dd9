import Cashet
import Foundation

/// Builds the schema-1 store committed as `Tests/CashetTests/Fixtures/store-v1` (see
/// scripts/make-v1-fixture.sh): a small store holding every kind of record a schema-1 release
/// writes, so that reading it, and later migrating it, is tested against bytes an old release
/// really wrote rather than against what the current code would write.
enum V1Fixture {
    struct Shape: CashetValue, Hashable {
        var label: String
        var weights: [String: Double]
    }

    struct Failure: Error, CustomStringConvertible {
        let input: Int
        var description: String { "input \(input) is odd" }
    }

    static let square = CachedFunction("square", version: "1") { (x: Int) in x * x }
    static let halve = CachedFunction("halve", version: "2", tags: ["kind": "strict"]) { (x: Int) -> Int in
        if x % 2 != 0 { throw Failure(input: x) }
        return x / 2
    }
    static let shared = CachedFunction("shared") { (name: String, _: Int) in "the same small result" }
    static let describe = CachedFunction("describe", version: "1") { (shape: Shape) in "\(shape.label): \(shape.weights.count) weights" }
    static let compressible = CachedFunction("compressible", version: "1") { (n: Int) in
        String(repeating: "a compressible line \(n)\n", count: 3_000)
    }
    static let incompressible = CachedFunction("incompressible", version: "1") { (seed: UInt64) -> [UInt8] in
        var state = seed
        return (0..<16_384).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }
    static let summed = CachedFunction("summed", version: "1") { (values: [Int]) in values.reduce(0, +) }
    /// An identity as `@Cached` makes it: hashed from source, which the store keeps.
    static let fromSource = CachedFunction(
        identity: FunctionIdentity(name: "fromSource", sourceHash: "5f1e", helpersHash: "", version: "",
                                   source: "func fromSource(_ x: Int) -> Int {\n    x + 1\n}"),
        { (x: Int) in x + 1 })
    static let uncached = CachedFunction("uncached", cache: false) { (x: Int) in x * 10 }

    /// Writes the fixture into `path` (which must not exist). Small results stay inline; the
    /// 4 KiB file threshold puts the large ones in `objects/`, one raw and one zstd.
    static func make(at path: String) async throws {
        let archive = path + ".import.cashet"
        defer { try? FileManager.default.removeItem(atPath: archive) }
        // An older commit made elsewhere and imported: its time lies before its neighbours'.
        let elsewhere = path + ".elsewhere"
        defer { try? FileManager.default.removeItem(atPath: elsewhere) }
        let other = Client(store: try LMDBStore(elsewhere))
        _ = try await other.submit(square, 100, tags: ["origin": "imported"])
        _ = try await other.exportArchive(to: archive)
        await other.close()
        try await Task.sleep(for: .milliseconds(20))

        var configuration = LMDBStore.Configuration()
        configuration.fileThreshold = 4096
        configuration.schema = .v1
        let client = Client(store: try LMDBStore(path, configuration: configuration))
        for x in 0..<6 { _ = try await client.submit(square, x) }
        // A re-run: the head moves on, the first run becomes its parent in history.
        _ = try await client.submit(square, 2, tags: ["rerun": "yes"], options: CallOptions(force: true))
        _ = try await client.submit(square, 2, tags: ["rerun": "again"], options: CallOptions(force: true))
        _ = try await client.submit(halve, 4, tags: ["étape": "prépa", "κλειδί": "値"])
        _ = try? await client.submit(halve, 3)
        for (index, name) in ["one", "two", "three"].enumerated() { _ = try await client.submit(shared, name, index) }
        _ = try await client.submit(describe, Shape(label: "tri", weights: ["b": 2, "a": 1.5]))
        _ = try await client.submit(compressible, 1)
        let random = try await client.submit(incompressible, UInt64(42))
        _ = try await client.submit(summed, [1, 2, 3])
        _ = try await client.submit(fromSource, 7)
        _ = try await client.submit(uncached, 1)
        _ = try await client.submit(uncached, 1)
        // A result passed on by reference (its commit's arguments name the blob).
        let chained = CachedFunction("length", version: "1") { (bytes: [UInt8]) in bytes.count }
        _ = try await client.submit(chained, random)
        // A commit recorded and removed again: a gap in the indexes.
        let removed = try await client.submit(square, 99)
        _ = try await client.rm(removed.commit.hex)
        // A blob no commit refers to (kept until a sweep).
        _ = try await client.store.putBlob(Array("a blob put on its own".utf8))
        _ = try await client.importArchive(from: archive)
        await client.close()
    }
}
