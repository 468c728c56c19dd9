import Foundation

extension LMDBStore {
    public nonisolated(nonsending) func importCommit(_ commit: Commit, output: [UInt8]?) async throws(CashetError) -> Bool {
        try await importCommits([(commit, output)])[0]
    }

    /// Adds commits recorded elsewhere in one write transaction (see ``importCommit(_:output:)``);
    /// true for each commit the store did not have. A tiered store copies remote commits into
    /// its local tier with this: one durable write per batch, not per commit.
    package nonisolated(nonsending) func importCommits(_ items: [(commit: Commit, output: [UInt8]?)]) async throws(CashetError) -> [Bool] {
        var records: [[UInt8]] = []
        for (commit, output) in items {
            let record = try CanonicalCommit.importableRecord(of: commit)
            if let output, output.count != commit.output?.size {
                throw CashetError(.corruptData, "the result of commit \(commit.hash.shortHex) has \(output.count) bytes, but the commit records \(commit.output?.size ?? 0)")
            }
            records.append(record)
        }
        let present = try reading("looking up \(items.count) commit(s)") { txn in
            try items.map { item in try txn.get(tables.commits, item.commit.hash.bytes) != nil }
        }
        if !present.contains(false) { return present.map { _ in false } }
        let action = items.count == 1 ? "importing commit \(items[0].commit.hash.shortHex)" : "importing \(items.count) commits"
        return try await writing(storing: items.map(\.output), action) { txn, blobs, state in
            var added: [Bool] = []
            for ((commit, _), (record, blob)) in zip(items, zip(records, blobs)) {
                guard try txn.get(tables.commits, commit.hash.bytes) == nil else {
                    added.append(false)
                    continue
                }
                var retained: PreparedBlob?
                if let expected = commit.output {
                    if let blob {
                        guard blob.ref == expected else {
                            throw CashetError(.corruptData, "the result given for commit \(commit.hash.shortHex) has SHA-256 \(blob.ref.hash.shortHex), but the commit names \(expected.hash.shortHex)")
                        }
                        retained = blob
                    } else {
                        guard try txn.get(tables.blobInfo, expected.hash.bytes) != nil else {
                            throw CashetError(.corruptData, "commit \(commit.hash.shortHex) names result \(expected.hash.shortHex), which neither the archive nor the store holds")
                        }
                        retained = PreparedBlob(ref: expected, record: nil, staged: nil)
                    }
                }
                try storeCommit(commit, record: record, blob: retained, keepNewerHead: true, txn, &state)
                added.append(true)
            }
            return added
        }
    }
}
