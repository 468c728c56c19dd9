import Foundation

extension LMDBStore {
    public nonisolated(nonsending) func importCommit(_ commit: Commit, output: [UInt8]?) async throws(CashetError) -> Bool {
        try await importCommits([(commit, output)])[0]
    }

    /// Adds commits recorded elsewhere in one write transaction (see ``importCommit(_:output:)``);
    /// true for each commit the store did not have. A tiered store copies remote commits into
    /// its local tier with this: one durable write per batch, not per commit.
    package nonisolated(nonsending) func importCommits(_ items: [(commit: Commit, output: [UInt8]?)]) async throws(CashetError) -> [Bool] {
        let planned = try items.map { item throws(CashetError) in try CommitPlanner.importable(item.commit, resultSize: item.output?.count) }
        let present = try reading("looking up \(items.count) commit(s)") { txn in
            try items.map { item in try tables.layout.contains(item.commit.hash, txn) }
        }
        if !present.contains(false) { return present.map { _ in false } }
        let action = items.count == 1 ? "importing commit \(items[0].commit.hash.shortHex)" : "importing \(items.count) commits"
        return try await writing(storing: items.map(\.output), action) { txn, blobs, state in
            var added: [Bool] = []
            for (planned, blob) in zip(planned, blobs) {
                let commit = planned.commit
                guard try !tables.layout.contains(commit.hash, txn) else {
                    added.append(false)
                    continue
                }
                var retained: PreparedBlob?
                if let expected = commit.output {
                    if let blob {
                        try CommitPlanner.checkResult(blob.ref, of: commit)
                        retained = blob
                    } else {
                        if try txn.get(tables.blobInfo, expected.hash.bytes) != nil {
                            retained = PreparedBlob(ref: expected, record: nil, staged: nil)
                        } else if let inline = try tables.layout.inlineResult(expected.hash, txn) {
                            retained = PreparedBlob(ref: expected, record: ([StoreRecords.BlobEncoding.raw.rawValue] + inline, inline.count + 1), staged: nil)
                        } else {
                            throw CommitPlanner.missingResult(of: commit, in: "the store")
                        }
                    }
                }
                try storeCommit(commit, record: planned.record, blob: retained, keepNewerHead: true, txn, &state)
                added.append(true)
            }
            return added
        }
    }
}
