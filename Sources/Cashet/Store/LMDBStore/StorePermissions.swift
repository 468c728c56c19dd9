#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Who may read and write the directories and files a store creates. The process umask can
/// only take permissions away from these.
public enum StorePermissions: Sendable {
    /// Directories 0700, files 0600: only the owning user (the default; results may be private).
    case owner
    /// Directories 0770, files 0660: the owning group too, for a team's cache in a shared
    /// (typically setgid) directory.
    case group

    /// The mode of files the store creates.
    var fileMode: mode_t {
        switch self {
        case .owner: 0o600
        case .group: 0o660
        }
    }

    /// The mode of directories the store creates.
    var directoryMode: mode_t {
        switch self {
        case .owner: 0o700
        case .group: 0o770
        }
    }
}
