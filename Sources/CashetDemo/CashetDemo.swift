import ArgumentParser
import Cashet
import CashetPostgres
import Foundation
import Synchronization

/// What one chunk computes: a small summary of 1,024 generated samples.
struct ChunkSummary: Codable, Sendable {
    var chunk: Int
    var mean: Double
    var maximum: Double
    var checksum: UInt64
}

/// How many chunks really ran in this process (a `let` of an atomic: not cached state).
let chunkExecutions = Atomic<Int>(0)

/// One chunk of the pipeline. The demo uses the macro-free API (an explicit name and
/// `version`, bumped when the computation changes) so that its release build needs no
/// swift-syntax; `@Cached` (module CashetMacros) derives the identity from source instead.
let processChunk = CachedFunction("processChunk", version: "1") { (chunk: Int, salt: String) -> ChunkSummary in
    chunkExecutions.add(1, ordering: .relaxed)
    var state = UInt64(truncatingIfNeeded: chunk) &* 0x9E37_79B9_7F4A_7C15 | 1
    var sum = 0.0, maximum = -Double.infinity, checksum: UInt64 = 0
    for _ in 0..<1024 {
        let sample = nextSample(&state)
        sum += sample
        maximum = max(maximum, sample)
        checksum &+= state
    }
    return ChunkSummary(chunk: chunk, mean: sum / 1024, maximum: maximum, checksum: checksum)
}

/// xorshift64: the next pseudo-random sample in 0..<100.
func nextSample(_ state: inout UInt64) -> Double {
    state ^= state << 13
    state ^= state >> 7
    state ^= state << 17
    return Double(state % 10_000) / 100
}

/// A chunked incremental pipeline: N chunks, each one cached call; K of them change per run.
///
/// Run it twice on one store: the first run executes every chunk, the second only the K
/// changed ones (their salt is new each run), the rest are cache hits.
@main
struct CashetDemo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cashet-demo", abstract: "Run a chunked incremental pipeline against a cashet store.")

    @Option(help: "The store directory (with --shared: the local tier).") var store = ".cashet"
    @Option(help: "A postgresql:// URL: share results with every machine using it, through the local store as a tier (password from the URL or $PGPASSWORD).")
    var shared: String?
    @Option(help: "How many chunks the pipeline has.") var chunks = 10_000
    @Option(help: "How many chunks change on this run (they get a fresh salt).") var changed = 10
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard chunks >= 0 else { throw ValidationError("--chunks must be zero or more") }
        guard (0...chunks).contains(changed) else { throw ValidationError("--changed must be between 0 and --chunks") }
    }

    func run() async throws {
        do {
            let client: Client
            var location = store
            if let shared {
                let remote = try await PostgresStore(url: shared)
                location = "\(store) in front of \(remote.location)"
                client = Client(store: TieredStore(local: try LMDBStore(store), remote: remote))
            } else {
                client = try Client(path: store)
            }
            let runSalt = UUID().uuidString
            let clock = ContinuousClock()
            var hits = 0
            let elapsed = try await clock.measure {
                for chunk in 0..<chunks {
                    let ref = try await client.submit(processChunk, chunk, chunk < changed ? runSalt : "")
                    if ref.wasCached { hits += 1 }
                }
            }
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let executed = chunkExecutions.load(ordering: .relaxed)
            if json {
                print("{\"chunks\":\(chunks),\"executed\":\(executed),\"hits\":\(hits),\"seconds\":\(String(format: "%.6f", seconds)),\"store\":\"\(location)\"}")
            } else {
                print("\(chunks) chunks: \(executed) executed, \(hits) cache hits in \(String(format: "%.3f", seconds)) s (store \(location))")
            }
            await client.close()
        } catch let error as CashetError {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            throw ExitCode(1)
        }
    }
}
