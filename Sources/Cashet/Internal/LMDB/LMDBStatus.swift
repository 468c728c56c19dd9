import CCashetLMDB

/// Turns an LMDB return code into a `CashetError`, naming the operation and the store path.
@usableFromInline
func lmdbCheck(_ rc: Int32, _ operation: @autoclosure () -> String, path: String) throws(CashetError) {
    guard rc != MDB_SUCCESS else { return }
    throw lmdbError(rc, operation(), path: path)
}

func lmdbError(_ rc: Int32, _ operation: String, path: String) -> CashetError {
    let text = String(cString: mdb_strerror(rc))
    return CashetError(.storage, "\(operation) failed in \(path): \(text) (LMDB code \(rc))")
}
