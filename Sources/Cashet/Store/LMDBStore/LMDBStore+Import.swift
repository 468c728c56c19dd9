import Foundation

extension LMDBStore {
    public nonisolated(nonsending) func importCommit(_ commit: Commit, output: [UInt8]?) async throws(CashetError) -> Bool {
        let draft = commit.draft
        try validate(draft)
        let record = StoreRecords.encodeCommit(draft, output: commit.output, parent: commit.parent)
        guard SHA256Hasher.hash(record) == commit.hash else {
            throw CashetError(.corruptData, "commit \(commit.hash.shortHex) does not match its hash; it was altered")
        }
        if let output, output.count != commit.output?.size {
            throw CashetError(.corruptData, "the result of commit \(commit.hash.shortHex) has \(output.count) bytes, but the commit records \(commit.output?.size ?? 0)")
        }
        if try reading("looking up commit \(commit.hash.shortHex)", { txn in try txn.get(tables.commits, commit.hash.bytes) }) != nil {
            return false
        }
        return try await writing(storing: output, "importing commit \(commit.hash.shortHex)") { txn, blob, state in
            guard try txn.get(tables.commits, commit.hash.bytes) == nil else { return false }
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
            return true
        }
    }
}
