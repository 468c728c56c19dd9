/// What the journal holds that LMDB may not have yet: the heads, commits and small results of
/// journaled commits, for lookups until a flush applies them. Applied commits may linger here
/// until this process notices the flush; they agree with LMDB, so that is harmless.
struct JournalOverlay {
    private(set) var heads: [Fingerprint: CommitHead] = [:]
    private(set) var commits: [ContentHash: Commit] = [:]
    /// `blobs` rows of new small results, and their sizes.
    private(set) var inlineRows: [ContentHash: [UInt8]] = [:]
    private(set) var sizes: [ContentHash: Int] = [:]
    /// Every result a journaled commit names (already stored or new).
    private(set) var results: Set<ContentHash> = []

    var isEmpty: Bool { commits.isEmpty }

    /// Takes in journaled commits in journal order (a later commit of a call becomes its head).
    mutating func add(_ journaled: [JournaledCommit]) {
        for entry in journaled {
            let commit = entry.commit
            commits[commit.hash] = commit
            heads[commit.fingerprint] = CommitHead(commit: commit.hash, output: commit.output, status: commit.status, createdAt: commit.createdAt)
            switch entry.result {
            case nil: break
            case .stored(let ref): results.insert(ref.hash)
            case .inline(let ref, let row):
                results.insert(ref.hash)
                inlineRows[ref.hash] = row
                sizes[ref.hash] = ref.size
            }
        }
    }
}
