#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension CashetError.Code {
    /// The code for a failed system call's `errno` (LMDB passes these through as positive codes):
    /// a full disk or a file-size limit is `.outOfSpace`, refused access `.permissionDenied`, and
    /// anything else `.storage`.
    static func forSystemError(_ errorNumber: Int32) -> CashetError.Code {
        switch errorNumber {
        case ENOSPC, EDQUOT, EFBIG: .outOfSpace
        case EACCES, EPERM, EROFS: .permissionDenied
        default: .storage
        }
    }
}
