#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One ``LMDBEnvironment`` per store directory per process, shared by every `LMDBStore` opened
/// on it. LMDB forbids opening an environment twice in one process: its locks on `lock.mdb` are
/// POSIX record locks, which belong to the process, so closing either copy would drop the locks
/// of both and let another process reset the reader table under a live reader.
///
/// Directories are told apart by device and inode, so two paths to one store (a link, `./x` and
/// `x`) share too. An environment is closed when its last store goes; a store opened meanwhile
/// waits for that close to finish rather than open a second copy beside the closing one.
enum SharedEnvironments {
    /// A directory's identity on this machine.
    struct Key: Hashable, Sendable {
        let device: UInt64
        let inode: UInt64

        /// The identity of the open directory `descriptor`.
        init(directory descriptor: Int32, path: String) throws(CashetError) {
            var info = stat()
            guard fstat(descriptor, &info) == 0 else { throw PosixFile.error("cannot inspect", path) }
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
        }
    }

    private final class Entry: @unchecked Sendable {
        // Read and written only under `entries`' lock.
        weak var environment: LMDBEnvironment?
    }

    private static let entries = Locked<[Key: Entry]>([:])

    /// What a lookup found.
    private enum Lookup<T: Sendable>: Sendable {
        /// The setup's result, and the environment, kept alive until the lock is released (if its
        /// setup failed, it is the last reference, and its deinit takes the lock to close it).
        case done(Result<T, any Error>, LMDBEnvironment?)
        /// The environment is being closed by its last store's release: look again shortly.
        case closing
    }

    /// Runs `setup` with the environment of the store directory `key` (opened with `options` when
    /// this process has none), holding the registry's lock, so that a store's setup (creating and
    /// opening tables, which LMDB allows one transaction at a time) never runs beside another's.
    ///
    /// An environment this process holds is shared only while its data file is still the one the
    /// directory (`directory`, open) names `data.mdb`: one removed or replaced meanwhile (the
    /// directory deleted and its inode reused, a backup restored over the file) would take
    /// writes that no other opening of the store sees.
    static func withEnvironment<T: Sendable>(_ key: Key, directory: Int32, path: String, options: LMDBOptions,
                                   _ setup: (LMDBEnvironment) throws -> T) throws -> T {
        while true {
            let lookup = entries.withLock { entries -> Lookup<T> in
                if let entry = entries[key] {
                    guard let environment = entry.environment else { return .closing }
                    guard environment.isDataFile(named: "data.mdb", in: directory) else {
                        let error = CashetError(.unavailable, "the data.mdb of the store at \(path) was removed or replaced while this process still has the old file open: close every store and client opened on it, then open it again")
                        return .done(.failure(error), environment)
                    }
                    return .done(Result { try setup(environment) }, environment)
                }
                let environment: LMDBEnvironment
                do {
                    environment = try LMDBEnvironment(path: path, options: options, sharedAs: key)
                } catch {
                    return .done(.failure(error), nil)
                }
                let entry = Entry()
                entry.environment = environment
                entries[key] = entry
                return .done(Result { try setup(environment) }, environment)
            }
            switch lookup {
            case .done(let result, _): return try result.get()
            case .closing: usleep(1000)
            }
        }
    }

    /// Closes an environment (from its deinit) while no other can be opened for the same directory.
    static func close(_ key: Key, _ close: () -> Void) {
        entries.withLock { entries in
            close()
            if entries[key]?.environment == nil { entries[key] = nil }
        }
    }
}
