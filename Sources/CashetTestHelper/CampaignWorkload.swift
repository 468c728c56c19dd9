import Cashet
import CashetTestSupport
import Foundation

/// The mixed workload a crash-campaign round runs until it is SIGKILLed: small and large
/// submits, cache hits, `map` batches, `rm`, size-bounded `gc` and `import`, in an order fixed
/// by the seed. Every step is logged (one line, O_APPEND) only after it returned, so the log
/// lists exactly what was acknowledged:
///
///     ok COMMIT SHA256          a submit or map returned this commit holding this result
///     removing COMMIT / removed COMMIT      around an `rm`
///     gc-begin / gc-end         around a size-bounded `gc` (anything may go)
///     import-begin / import-end around importing the campaign's archive
struct CampaignWorkload {
    /// A durability by the name the campaigns use (`durable`, `normal`, `nosync`).
    static func durability(named name: String) -> LMDBStore.Configuration.Durability? {
        switch name {
        case "durable": .durable
        case "normal": .normal
        case "nosync": .noSync
        default: nil
        }
    }

    let storePath: String
    let log: String
    let archive: String
    let seed: UInt64
    let durability: LMDBStore.Configuration.Durability
    /// Only submits, hits and map batches (no rm, gc or import), so every acknowledged result
    /// must survive: the power-loss campaign's recording.
    var writesOnly = false
    /// Stop (exit 0) after this many steps; nil runs until killed.
    var steps: Int?

    /// Keys are unique per seed: a submit uses `step * 1000`, a map batch `step * 1000 + 1…999`.
    static let small = CachedFunction("campaign-small", version: "1") { (key: Int) -> [UInt8] in
        Array("small \(key) ".utf8) + TestPayload.compressible(64 + key % 900, seed: UInt64(key))
    }
    static let large = CachedFunction("campaign-large", version: "1") { (key: Int) -> [UInt8] in
        let size = 70_000 + (key / 1000 * 7_919) % 1_400_000
        return key % 2000 == 0 ? TestPayload.compressible(size, seed: UInt64(key)) : TestPayload.incompressible(size, seed: UInt64(key))
    }

    /// The store configuration every campaign process uses: files from 256 KiB, so both kinds of
    /// blob occur; a new store gets the schema `CASHET_SCHEMA` names (1 or 2), by default this
    /// release's.
    static func configuration(_ durability: LMDBStore.Configuration.Durability) -> LMDBStore.Configuration {
        var configuration = LMDBStore.Configuration()
        configuration.fileThreshold = 256 << 10
        configuration.initialMapSize = 16 << 20
        configuration.durability = durability
        if let schema = ProcessInfo.processInfo.environment["CASHET_SCHEMA"].flatMap(UInt32.init).flatMap(LMDBStore.Schema.init) {
            configuration.schema = schema
        }
        return configuration
    }

    func run() async throws(CashetError) -> Never {
        let mix = writesOnly ? 77 : 100
        let client = Client(store: try LMDBStore(storePath, configuration: Self.configuration(durability)), serializer: RawBytesSerializer())
        var random = SeededGenerator(seed: seed)
        var mine: [String] = []          // commits this process created, for rm
        var calls: [(small: Bool, key: Int)] = []   // calls made, to repeat as hits
        let base = Int(seed % 1_000_000) * 100_000
        for step in 0... {
            if let steps, step >= steps { exit(0) }
            let key = (base + step) * 1000
            switch Int.random(in: 0..<mix, using: &random) {
            case 0..<35:
                try acknowledge(try await client.submit(Self.small, key), into: &mine)
                calls.append((true, key))
            case 35..<47:
                try acknowledge(try await client.submit(Self.large, key), into: &mine)
                calls.append((false, key))
            case 47..<62:
                let inputs = (1...Int.random(in: 20...300, using: &random)).map { key + $0 }
                for ref in try await client.map(Self.small, over: inputs) { try acknowledge(ref, into: &mine) }
            case 62..<77 where !calls.isEmpty:
                let call = calls.randomElement(using: &random)!
                try acknowledge(try await client.submit(call.small ? Self.small : Self.large, call.key), into: &mine)
            case 77..<88 where !mine.isEmpty:
                let commit = mine.remove(at: Int.random(in: 0..<mine.count, using: &random))
                line("removing \(commit)")
                do {
                    _ = try await client.rm(commit)
                } catch where error.code == .notFound {
                    // Taken earlier by a gc: nothing to remove.
                }
                line("removed \(commit)")
            case 88..<94:
                let stored = try await client.stats().storedBytes
                line("gc-begin")
                _ = try await client.gc(EvictionPolicy(maxStoredBytes: stored * 6 / 10))
                line("gc-end")
            case 94..<100:
                line("import-begin")
                _ = try await client.importArchive(from: archive)
                line("import-end")
            default:
                continue
            }
        }
        fatalError("unreachable")
    }

    private func acknowledge(_ ref: ResultRef<[UInt8]>, into mine: inout [String]) throws(CashetError) {
        line("ok \(ref.commit.hex) \(ref.hash.hex)")
        if !ref.wasCached { mine.append(ref.commit.hex) }
    }

    private func line(_ text: String) { appendLine(text, to: log) }
}
