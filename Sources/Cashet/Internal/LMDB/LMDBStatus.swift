import CCashetLMDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns an LMDB return code into a `CashetError`, naming the operation and the store path.
@usableFromInline
func lmdbCheck(_ rc: Int32, _ operation: @autoclosure () -> String, path: String) throws(CashetError) {
    guard rc != MDB_SUCCESS else { return }
    throw lmdbError(rc, operation(), path: path)
}

func lmdbError(_ rc: Int32, _ operation: String, path: String) -> CashetError {
    let text = String(cString: mdb_strerror(rc))
    // Positive codes are errno values: a full disk or refused access gets its own code. LMDB
    // reports a short write of its data file (the disk filled, or the file reached RLIMIT_FSIZE)
    // as EIO, so that is told apart by looking at the space left.
    if rc == EIO, let shortage = FileSystem.spaceShortage(writing: path + "/data.mdb") {
        return CashetError(.outOfSpace, "\(operation) failed in \(path): \(text) (LMDB code \(rc)): \(shortage)")
    }
    // The store never changes a table's flags: MDB_INCOMPATIBLE on one of its tables is damage.
    if rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_INCOMPATIBLE {
        return CashetError(.corruptData, "\(operation) failed in \(path): \(text) (LMDB code \(rc)); the data file is damaged or torn (a copy taken while a writer ran?)")
    }
    let code: CashetError.Code = rc > 0 ? .forSystemError(rc) : .storage
    return CashetError(code, "\(operation) failed in \(path): \(text) (LMDB code \(rc))")
}
