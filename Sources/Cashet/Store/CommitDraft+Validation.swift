extension CommitDraft {
    /// Checks the limits every store enforces, so a commit recorded in one store can be copied
    /// into any other (a tiered store copies PostgreSQL commits into LMDB, whose keys are at
    /// most 511 bytes; NUL separates tag keys from values in its tag index).
    package func validate() throws(CashetError) {
        let name = task.functionName
        guard !name.isEmpty, name.utf8.count <= 400 else {
            throw CashetError(.invalidArgument, "function name '\(name.prefix(40))' must have 1 to 400 bytes")
        }
        for (key, value) in tags {
            guard !key.isEmpty, !key.utf8.contains(0), !value.utf8.contains(0), key.utf8.count + value.utf8.count <= 400 else {
                throw CashetError(.invalidArgument, "tag '\(key.prefix(40))' must be non-empty, without NUL characters, and key plus value at most 400 bytes")
            }
        }
    }
}
