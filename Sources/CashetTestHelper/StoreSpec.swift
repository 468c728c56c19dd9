import Cashet
import CashetPostgres
import Foundation

/// Opens the store a helper command names: a directory (LMDB), a `postgresql://` URL, or
/// `tiered:LOCALDIR,URL` (an LMDB local tier in front of PostgreSQL: one "machine").
func openStore(_ spec: String) async throws(CashetError) -> any Store {
    if spec.hasPrefix("tiered:") {
        let parts = spec.dropFirst("tiered:".count).split(separator: ",", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw CashetError(.invalidArgument, "use tiered:LOCALDIR,URL") }
        return TieredStore(local: try LMDBStore(parts[0]), remote: try await PostgresStore(url: parts[1]))
    }
    if PostgresStore.Configuration.isURL(spec) { return try await PostgresStore(url: spec) }
    return try LMDBStore(spec)
}

/// A client over ``openStore(_:)``.
func openClient(_ spec: String, serializer: any Serializer = BinarySerializer()) async throws(CashetError) -> Client {
    Client(store: try await openStore(spec), serializer: serializer)
}

/// `stream STORE LOGFILE COUNT`: submits `stream(i)` for i in 0..<COUNT one after another,
/// appending "acked I COMMIT RESULTHASH" once each returns and "error I CODE: MESSAGE" when one
/// fails (then goes on after 100 ms). The server-restart test checks every acked line.
func streamCalls(_ spec: String, log: String, count: Int) async throws(CashetError) {
    let stream = CachedFunction("stream", version: "1") { (i: Int) -> [Int] in Array(repeating: i, count: 64) }
    let client = try await openClient(spec)
    for i in 0..<count {
        do {
            let ref = try await client.submit(stream, i)
            appendLine("acked \(i) \(ref.commit.hex) \(ref.hash.hex)", to: log)
        } catch {
            appendLine("error \(i) \(error.code): \(error.message)", to: log)
            try? await Task.sleep(for: .milliseconds(100))
        }
    }
    await client.close()
}
