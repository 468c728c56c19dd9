import CCashetSystem
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open directory, and the only way cashet reaches anything below a store's root.
///
/// Every name is resolved relative to this descriptor with `O_NOFOLLOW` (`AT_SYMLINK_NOFOLLOW`
/// for `stat`, no flag for `unlinkat`, which never follows), one component at a time. A
/// symbolic link anywhere below the root therefore fails the walk (`.corruptData`, naming the
/// path) instead of redirecting a write or a delete to a directory outside the store; renaming
/// a directory meanwhile cannot redirect it either, as the descriptor follows the directory, not
/// its name. Only the root itself (the path the user gave) may be reached through a link.
struct DirectoryHandle: ~Copyable {
    /// What is at a name, without following a link.
    enum EntryKind: Equatable {
        case regularFile, directory, symbolicLink, other
    }

    private let file: PosixFile
    /// The directory's path, for messages only (never opened again by it).
    var path: String { file.path }
    var descriptor: Int32 { file.descriptor }

    /// Opens `path` as a directory, following links in it (a store's root, as the user named it);
    /// nil when nothing, or something other than a directory, is there.
    static func openRoot(_ path: String) throws(CashetError) -> DirectoryHandle? {
        let fd = retryingInterrupts { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        if fd < 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }   // nothing there, or not a directory
            throw PosixFile.error("cannot open directory", path)
        }
        return DirectoryHandle(PosixFile(adopting: fd, path: path))
    }

    private init(_ file: consuming PosixFile) { self.file = file }

    func child(_ name: String) -> String { path + "/" + name }

    /// The subdirectory `name`; nil when missing (created first with `createWithMode`, and its
    /// name made durable with an fsync of this directory).
    /// A link or a file in its place is `.corruptData`.
    func directory(_ name: String, createWithMode mode: mode_t? = nil) throws(CashetError) -> DirectoryHandle? {
        while true {
            let fd = retryingInterrupts { openat(descriptor, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            if fd >= 0 { return DirectoryHandle(PosixFile(adopting: fd, path: child(name))) }
            let code = errno
            if code == ENOENT, let mode {
                // Another process may create it meanwhile: EEXIST is fine, then open it.
                if mkdirat(descriptor, name, mode) == 0 {
                    try sync()   // the new name, so a power cut cannot lose the directory
                } else if errno != EEXIST {
                    throw PosixFile.error("cannot create directory", child(name))
                }
                continue
            }
            if code == ENOENT { return nil }
            throw linkAwareError(code, "cannot open directory", name)
        }
    }

    /// Opens the regular file `name` with `flags` (`O_NOFOLLOW` is added); nil when missing.
    func openFile(_ name: String, flags: Int32, mode: mode_t = 0) throws(CashetError) -> PosixFile? {
        let fd = retryingInterrupts { openat(descriptor, name, flags | O_NOFOLLOW | O_CLOEXEC, mode) }
        if fd < 0 {
            let code = errno
            if code == ENOENT && flags & O_CREAT == 0 { return nil }
            throw linkAwareError(code, "cannot open", name)
        }
        return PosixFile(adopting: fd, path: child(name))
    }

    /// Creates the new file `name` (failing when anything, even a dangling link, has that name).
    func createExclusive(_ name: String, mode: mode_t) throws(CashetError) -> PosixFile {
        try openFile(name, flags: O_WRONLY | O_CREAT | O_EXCL, mode: mode)!
    }

    /// What is at `name`, or nil when nothing is.
    func kind(of name: String) throws(CashetError) -> EntryKind? {
        var info = stat()
        guard fstatat(descriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return nil }
            throw PosixFile.error("cannot inspect", child(name))
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regularFile
        case S_IFDIR: return .directory
        case S_IFLNK: return .symbolicLink
        default: return .other
        }
    }

    /// Moves `name` to `newName` in `destination`, replacing what is there (a file, or a link
    /// itself: never what it points to).
    func rename(_ name: String, to newName: String, in destination: borrowing DirectoryHandle) throws(CashetError) {
        guard renameat(descriptor, name, destination.descriptor, newName) == 0 else {
            throw PosixFile.error("cannot rename \(child(name)) to", destination.child(newName))
        }
    }

    /// Gives the file `name` a second name `newName` in this directory (a hard link; a link
    /// named `name` is linked itself, never followed).
    func link(_ name: String, to newName: String) throws(CashetError) {
        guard linkat(descriptor, name, descriptor, newName, 0) == 0 else {
            throw PosixFile.error("cannot link \(child(name)) as", child(newName))
        }
    }

    /// Removes the entry `name` (a file or a link, never what a link points to); true when it
    /// was there. A directory in its place is removed with its contents, through descriptors.
    @discardableResult
    func remove(_ name: String) throws(CashetError) -> Bool {
        if unlinkat(descriptor, name, 0) == 0 { return true }
        if errno == ENOENT { return false }
        guard errno == EISDIR || errno == EPERM, try kind(of: name) == .directory else { throw PosixFile.error("cannot remove", child(name)) }
        if let subdirectory = try directory(name) {
            for entry in try subdirectory.entries() { try subdirectory.remove(entry) }
        }
        guard unlinkat(descriptor, name, AT_REMOVEDIR) == 0 || errno == ENOENT else { throw PosixFile.error("cannot remove directory", child(name)) }
        return true
    }

    /// Names in the directory (without "." and "..").
    func entries() throws(CashetError) -> [String] {
        // fdopendir takes over the descriptor it is given: give it a duplicate.
        let duplicate = fcntl(descriptor, F_DUPFD_CLOEXEC, 0)
        guard duplicate >= 0, let stream = fdopendir(duplicate) else {
            if duplicate >= 0 { close(duplicate) }
            throw PosixFile.error("cannot list", path)
        }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            // d_name is a NUL-terminated C array inside the dirent readdir returned.
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Makes renames, creations and removals in this directory durable.
    func sync() throws(CashetError) { try file.sync() }

    /// An `openat` failure, with a link (ELOOP, or ENOTDIR on a link to a file) named as what it is.
    private func linkAwareError(_ code: Int32, _ action: String, _ name: String) -> CashetError {
        if code == ELOOP || ((code == ENOTDIR || code == ENXIO) && (try? kind(of: name)) == .symbolicLink) {
            return CashetError(.corruptData, "\(child(name)) is a symbolic link; cashet never follows links inside its store (`cashet fsck --repair` removes the link, not its target)")
        }
        if code == ENOTDIR {
            return CashetError(.corruptData, "\(child(name)) is not a directory; the store is damaged (run `cashet fsck`)")
        }
        errno = code
        return PosixFile.error(action, child(name))
    }
}
