import Foundation

@_spi(Fuzzing)
extension FuzzTarget {
    /// Valid inputs to start fuzzing from, made by the real writers: records of a store that ran
    /// a few calls, an archive exported from it, an encoded value, and typical command-line text.
    /// `run` accepts every one of them.
    public func seeds() async throws(CashetError) -> [[UInt8]] {
        switch self {
        case .records, .archive:
            let (records, archive) = try await Self.storeSeeds()
            return self == .records ? records : [archive]
        case .binaryDecoder:
            let leaf = FuzzValue(name: "leaf", count: -3, small: 7, unsigned: .max, ratio: -0.0, flag: true, kind: .c, optional: [1, nil, 3],
                                 nested: ["x": [1.5, .infinity]], set: [1, -2], bytes: [0, 255], children: [])
            let root = FuzzValue(name: "héllo", count: .min, small: -128, unsigned: 0, ratio: .pi, flag: false, kind: .a, optional: nil,
                                 nested: [:], set: [], bytes: [], children: [leaf, leaf])
            return [try BinarySerializer().encode(leaf), try BinarySerializer().encode(root)]
        case .workerRequest:
            let value = try await FuzzTarget.binaryDecoder.seeds()[0]
            return [WorkerProtocol.Request(function: ContentHash(hashing: [1, 2, 3]), arguments: [value, [7]]).bytes]
        case .hashPrefix:
            return ["abcd", "ABCDEF0123", String(repeating: "0f", count: 32)].map { Array($0.utf8) }
        case .size:
            return ["500M", "2GiB", "10GB", "123", "1.5T", "64 KiB", "7B"].map { Array($0.utf8) }
        case .date:
            return ["2026-11-25", "2026-11-25T14:00:00Z", "2026-11-25T14:00:00.125Z", "90s", "12h", "7d", "2w", "0.5m"].map { Array($0.utf8) }
        }
    }

    /// Every record a small store holds (commits, heads, functions, blob locations and infos, the
    /// counters) and the bytes of an archive exported from it.
    private static func storeSeeds() async throws(CashetError) -> (records: [[UInt8]], archive: [UInt8]) {
        let directory = NSTemporaryDirectory() + "cashet-fuzz-seeds-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = LMDBStore.Configuration()
        configuration.fileThreshold = 4096
        configuration.schema = .v1   // the seeds are schema 1's records (schema 2's rows have their own target)
        let store = try LMDBStore(directory + "/store", configuration: configuration)
        let client = Client(store: store)
        let text = CachedFunction("seed-text", version: "1") { (n: Int) -> String in String(repeating: "cashet ", count: n) }
        let failing = CachedFunction("seed-failing", version: "2") { (_: Int) throws -> Int in throw CashetError(.invalidArgument, "no") }
        for n in [1, 2000] { _ = try await client.submit(text, n, tags: ["kind": "seed", "n": "\(n)"]) }
        _ = try await client.submit(text, 1, cache: false)
        _ = try? await client.submit(failing, 1)
        var records: [[UInt8]] = []
        try store.reading("collecting seed records") { txn in
            for table in [store.tables.commits, store.tables.heads, store.tables.sources, store.tables.blobs, store.tables.blobInfo] {
                try txn.forEach(table) { _, value in records.append(value) }
            }
            if let counters = try txn.get(store.tables.meta, LMDBStore.countersKey) { records.append(counters) }
        }
        let archive = directory + "/seed.cashet"
        _ = try await client.exportArchive(to: archive)
        guard let bytes = FileManager.default.contents(atPath: archive) else { throw CashetError(.storage, "cannot read \(archive)") }
        return (records, Array(bytes))
    }
}
