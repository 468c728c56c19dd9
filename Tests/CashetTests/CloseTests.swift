import Cashet
import CashetTestSupport
import Foundation
import Testing

/// `LMDBStore.close()` waits for the flushes running aside: once it returns and its owner lets
/// go of the store, this process can take the store to itself at once.
@Suite("close() leaves nothing holding the store")
struct CloseTests {
    static let function = CachedFunction("close-probe", version: "1") { (x: Int) in x }

    /// Opens a journaled store whose timer flushes every millisecond, records one miss, closes
    /// the client, and lets go of everything (a result holds its store).
    static func recordAndClose(_ path: String, round: Int) async throws {
        var settings = LMDBStore.Configuration()
        settings.durability = .normal
        settings.journalFlushInterval = .milliseconds(1)
        let client = Client(store: try LMDBStore(path, configuration: settings))
        let argument: Int = round
        let ref = try await client.submit(Self.function, argument)
        let commit: ContentHash = ref.commit
        #expect(!commit.hex.isEmpty)
        // Let the timer's flush start, so close() finds it running or waiting.
        try await Task.sleep(for: .milliseconds(round % 3))
        await client.close()
    }

    @Test("20 rounds: a store with a 1 ms journal timer, closed right after a miss, can be compacted at once")
    func closeWaitsForTimedFlushes() async throws {
        let directory = TemporaryDirectory()
        for round in 0..<20 {
            let path = directory.child("store-\(round)")
            try await Self.recordAndClose(path, round: round)
            // Throws "open in another process (or in this one)" if a flush still holds it.
            _ = try LMDBStore.compact(at: path)
        }
    }
}
