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
            if let expected = commit.output {
                if let blob {
                    guard blob.ref == expected else {
                        throw CashetError(.corruptData, "the result given for commit \(commit.hash.shortHex) has SHA-256 \(blob.ref.hash.shortHex), but the commit names \(expected.hash.shortHex)")
                    }
                    try retainBlob(blob, references: 1, txn, &state)
                } else {
                    guard try txn.get(tables.blobInfo, expected.hash.bytes) != nil else {
                        throw CashetError(.corruptData, "commit \(commit.hash.shortHex) names result \(expected.hash.shortHex), which neither the archive nor the store holds")
                    }
                    try retainBlob(PreparedBlob(ref: expected, record: nil, staged: nil), references: 1, txn, &state)
                }
            }
            if try txn.put(tables.sources, commit.fingerprint.functionHash.bytes, StoreRecords.encodeFunction(commit.task), noOverwrite: true) {
                state.counters.functions += 1
            }
            try txn.put(tables.commits, commit.hash.bytes, record)
            let headIsOlder = try txn.get(tables.heads, commit.fingerprint.bytes).map { bytes throws(CashetError) in
                try StoreRecords.decodeHead(bytes).createdAt < commit.createdAt
            } ?? true
            if headIsOlder { try setHead(commit, txn) }
            for entry in indexEntries(of: commit) { try txn.put(entry.table, entry.key, entry.value) }
            state.counters.count(commit.status, +1)
            return true
        }
    }
}
