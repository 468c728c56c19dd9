/// A commit with the canonical record it is the hash of, ready for a store to write.
package struct PlannedCommit: Sendable {
    package let commit: Commit
    package let record: [UInt8]
}

/// How every store turns what ran into commits, and checks commits made elsewhere: one place
/// for validation, the time a record keeps, parent chaining and hashing, so that the same
/// drafts give the same commit hashes in every store.
package enum CommitPlanner {
    /// The entries' drafts, validated, with their times at the resolution records keep.
    package static func drafts(of entries: [CommitEntry]) throws(CashetError) -> [CommitDraft] {
        var drafts: [CommitDraft] = []
        drafts.reserveCapacity(entries.count)
        for entry in entries {
            try entry.draft.validate()
            var draft = entry.draft
            draft.createdAt = CanonicalCommit.normalized(draft.createdAt)
            drafts.append(draft)
        }
        return drafts
    }

    /// How errors name a write of `drafts`.
    package static func action(recording drafts: [CommitDraft]) -> String {
        drafts.count == 1 ? "recording a commit of \(drafts[0].task.functionName)" : "recording \(drafts.count) commits"
    }

    /// The commits of `drafts`, in order. A fingerprint's first commit in the batch extends its
    /// head (`heads`, read in the transaction that will write the batch); a repeated fingerprint
    /// extends the batch's previous commit of it.
    package static func plan(_ drafts: [CommitDraft], outputs: [ObjectRef?], heads: [Fingerprint: ContentHash]) -> [PlannedCommit] {
        var parents = heads
        return zip(drafts, outputs).map { draft, output in
            let parent = parents[draft.fingerprint]
            let record = CanonicalCommit.encodeCommit(draft, output: output, parent: parent)
            let commit = Commit(hash: SHA256Hasher.hash(record), fingerprint: draft.fingerprint, task: draft.task, output: output,
                                status: draft.status, error: draft.error, createdAt: draft.createdAt, tags: draft.tags, parent: parent)
            parents[draft.fingerprint] = commit.hash
            return PlannedCommit(commit: commit, record: record)
        }
    }

    // MARK: Imports

    /// A commit recorded elsewhere, with its record, after the checks every store makes: the
    /// limits, canonical form and hash (``CanonicalCommit/importableRecord(of:)``), and a result
    /// given with it of the size it names (checked before its bytes are hashed).
    package static func importable(_ commit: Commit, resultSize: Int?) throws(CashetError) -> PlannedCommit {
        let record = try CanonicalCommit.importableRecord(of: commit)
        if let resultSize, resultSize != commit.output?.size {
            throw CashetError(.corruptData, "the result of commit \(commit.hash.shortHex) has \(resultSize) bytes, but the commit records \(commit.output?.size ?? 0)")
        }
        return PlannedCommit(commit: commit, record: record)
    }

    /// Checks that the result given with an imported commit, once hashed, is the one it names.
    package static func checkResult(_ given: ObjectRef, of commit: Commit) throws(CashetError) {
        guard given == commit.output else {
            throw CashetError(.corruptData, "the result given for commit \(commit.hash.shortHex) has SHA-256 \(given.hash.shortHex) and \(given.size) bytes, but the commit names \(commit.output.map(\.description) ?? "no result")")
        }
    }

    /// The error for an imported commit whose result came without its bytes and is not in the store.
    package static func missingResult(of commit: Commit, in store: String) -> CashetError {
        CashetError(.corruptData, "commit \(commit.hash.shortHex) names result \(commit.output.map { $0.hash.shortHex } ?? "-"), which neither the archive nor \(store) holds")
    }
}
