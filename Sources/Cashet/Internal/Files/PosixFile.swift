import CCashetSystem
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open POSIX file descriptor, closed when the value goes away. Errors name the path.
struct PosixFile: ~Copyable {
    let descriptor: Int32
    let path: String

    /// Opens `path`; returns nil when it does not exist (ENOENT) so callers can tell "missing" apart.
    static func openIfExists(_ path: String, flags: Int32 = O_RDONLY) throws(CashetError) -> PosixFile? {
        let fd = retryingInterrupts { open(path, flags | O_CLOEXEC) }
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw PosixFile.error("cannot open", path)
        }
        return PosixFile(descriptor: fd, path: path)
    }

    /// Creates `path`, failing if it exists (the caller chose a unique name).
    static func createExclusive(_ path: String, mode: mode_t) throws(CashetError) -> PosixFile {
        let fd = retryingInterrupts { open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode) }
        guard fd >= 0 else { throw PosixFile.error("cannot create", path) }
        return PosixFile(descriptor: fd, path: path)
    }

    /// A new file in `directory`, readable and writable by this process only, whose name is
    /// removed at once: it goes away with its descriptor, whatever ends the process.
    static func createAnonymous(in directory: String) throws(CashetError) -> PosixFile {
        let path = directory + "/.cashet-spool-" + UUID().uuidString
        let fd = retryingInterrupts { open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600) }
        guard fd >= 0 else { throw PosixFile.error("cannot create", path) }
        unlink(path)
        return PosixFile(descriptor: fd, path: path)
    }

    /// Opens an existing `path` (a device or pipe) for writing, without truncating or creating.
    static func openForWriting(_ path: String) throws(CashetError) -> PosixFile {
        let fd = retryingInterrupts { open(path, O_WRONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw PosixFile.error("cannot open", path) }
        return PosixFile(descriptor: fd, path: path)
    }

    /// A descriptor of its own for an open file the caller keeps (standard output, a caller's
    /// file): it shares the position and flags, and closing it leaves the original open.
    static func duplicate(_ descriptor: Int32) throws(CashetError) -> PosixFile {
        let fd = fcntl(descriptor, F_DUPFD_CLOEXEC, 0)
        guard fd >= 0 else { throw PosixFile.error("cannot use file descriptor", "\(descriptor)") }
        return PosixFile(descriptor: fd, path: "file descriptor \(descriptor)")
    }

    /// Writes `bytes` at the current position of a descriptor the caller keeps open.
    static func writeAll(_ bytes: [UInt8], toDescriptor descriptor: Int32) throws(CashetError) {
        let file = try duplicate(descriptor)
        try withContiguousBytes(of: bytes) { buffer throws(CashetError) in try file.writeAll(buffer) }
    }

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    /// Takes ownership of an open descriptor (closed when the value goes away).
    init(adopting descriptor: Int32, path: String) {
        self.init(descriptor: descriptor, path: path)
    }

    private var fd: Int32 { descriptor }

    /// Writes the whole buffer (looping over short writes).
    func writeAll(_ buffer: UnsafeRawBufferPointer) throws(CashetError) {
        var offset = 0
        while offset < buffer.count {
            // `offset < count`, so the pointer and length stay inside the caller's buffer.
            let written = retryingInterrupts { write(fd, buffer.baseAddress! + offset, buffer.count - offset) }
            guard written > 0 else { throw PosixFile.error("cannot write", path) }
            offset += written
        }
    }

    /// Fills the buffer from the current position; returns fewer bytes only at end of file.
    func readFully(into buffer: UnsafeMutableRawBufferPointer) throws(CashetError) -> Int {
        var offset = 0
        while offset < buffer.count {
            // `offset < count`, so the kernel writes only inside the caller's buffer.
            let count = retryingInterrupts { read(fd, buffer.baseAddress! + offset, buffer.count - offset) }
            guard count >= 0 else { throw PosixFile.error("cannot read", path) }
            if count == 0 { break }
            offset += count
        }
        return offset
    }

    /// Fills `bytes` from the current position; returns fewer bytes only at end of file.
    func readFully(into bytes: inout [UInt8]) throws(CashetError) -> Int {
        // The closure only reads into the buffer it is lent; errors come back as a value.
        let result: Result<Int, CashetError> = bytes.withUnsafeMutableBytes { raw in
            do throws(CashetError) { return .success(try readFully(into: raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Up to `count` bytes at `offset` (fewer only at end of file), without moving the position.
    /// `count` must already be bounded by the caller (by the file's size, never by a length read
    /// from the file).
    func readBytes(at offset: Int, count: Int) throws(CashetError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let result: Result<Int, CashetError> = bytes.withUnsafeMutableBytes { raw in
            var done = 0
            while done < raw.count {
                // `done < raw.count`, so the kernel writes only inside the buffer it is lent.
                let got = retryingInterrupts { pread(fd, raw.baseAddress! + done, raw.count - done, off_t(offset + done)) }
                if got < 0 { return .failure(PosixFile.error("cannot read", path)) }
                if got == 0 { break }
                done += got
            }
            return .success(done)
        }
        let read = try result.get()
        if read < count { bytes.removeLast(count - read) }
        return bytes
    }

    /// The size of the file when it is a regular file; nil for a directory, device or pipe.
    func regularFileSize() throws(CashetError) -> Int? {
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw PosixFile.error("cannot inspect", path) }
        return (status.st_mode & S_IFMT) == S_IFREG ? Int(status.st_size) : nil
    }

    /// Writes all of `bytes` at `offset`, without moving the position (`pwrite`).
    func writeAll(_ bytes: [UInt8], at offset: Int) throws(CashetError) {
        let failed: Bool = bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                // `done < raw.count`: the kernel reads only inside the buffer it is lent.
                let wrote = retryingInterrupts { pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t(offset + done)) }
                if wrote <= 0 { return true }
                done += wrote
            }
            return false
        }
        if failed { throw PosixFile.error("cannot write", path) }
    }

    /// Cuts (or extends with zeros) the file to `size` bytes.
    func truncate(to size: Int) throws(CashetError) {
        guard retryingInterrupts({ ftruncate(fd, off_t(size)) }) == 0 else { throw PosixFile.error("cannot resize", path) }
    }

    /// Takes an exclusive advisory lock (`flock`), waiting on this thread for another holder.
    func lockBlocking() throws(CashetError) {
        guard retryingInterrupts({ flock(fd, LOCK_EX) }) == 0 else { throw PosixFile.error("cannot lock", path) }
    }

    /// Releases a lock taken with ``lockBlocking()``.
    func unlock() {
        _ = flock(fd, LOCK_UN)
    }

    /// Moves to the start, to read the file again.
    func seekToStart() throws(CashetError) {
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw PosixFile.error("cannot seek in", path) }
    }

    /// Sets the file's permission bits.
    func setMode(_ mode: mode_t) throws(CashetError) {
        guard fchmod(fd, mode) == 0 else { throw PosixFile.error("cannot set the mode of", path) }
    }

    /// The file's permission bits.
    func mode() throws(CashetError) -> mode_t {
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw PosixFile.error("cannot inspect", path) }
        return status.st_mode & 0o7777
    }

    /// Moves back to the start and empties the file (to rewrite it).
    func rewind() throws(CashetError) {
        guard lseek(fd, 0, SEEK_SET) == 0, ftruncate(fd, 0) == 0 else { throw PosixFile.error("cannot rewind", path) }
    }

    /// Starts writing dirty pages back to disk without waiting (Linux `sync_file_range`), so a
    /// later `sync` of a large file waits less. A no-op elsewhere; failures only mean no head start.
    func startWriteback() {
        _ = cashet_start_writeback(fd)
    }

    /// Flushes the file's data to stable storage.
    func sync() throws(CashetError) {
        guard retryingInterrupts({ fsync(fd) }) == 0 else { throw PosixFile.error("cannot fsync", path) }
    }

    /// Takes an exclusive advisory lock (`flock`), held until the file is closed. While another
    /// process holds it, the wait happens on a thread of its own, off the cooperative pool.
    nonisolated(nonsending) func lockExclusive() async throws(CashetError) {
        if retryingInterrupts({ flock(fd, LOCK_EX | LOCK_NB) }) == 0 { return }
        guard errno == EWOULDBLOCK else { throw PosixFile.error("cannot lock", path) }
        let descriptor = fd   // stays open: `self` outlives the wait
        let failure = await runOffPool { () -> Int32 in
            retryingInterrupts({ flock(descriptor, LOCK_EX) }) == 0 ? 0 : errno
        }
        guard failure == 0 else {
            errno = failure
            throw PosixFile.error("cannot lock", path)
        }
    }

    /// Takes an exclusive lock on one byte at `offset` (< 2^62) without waiting, owned by this
    /// open file (an OFD lock on Linux) and dropped by the kernel if the process dies. Returns
    /// false when another open file holds it.
    func tryLockByte(at offset: Int64) throws(CashetError) -> Bool {
        if cashet_try_lock_byte(fd, offset) == 0 { return true }
        if errno == EAGAIN || errno == EACCES { return false }
        throw PosixFile.error("cannot lock a byte of", path)
    }

    /// Releases a byte locked with ``tryLockByte(at:)``.
    func unlockByte(at offset: Int64) {
        _ = cashet_unlock_byte(fd, offset)
    }

    deinit { close(descriptor) }

    static func error(_ action: String, _ path: String) -> CashetError {
        let code = errno
        return CashetError(.forSystemError(code), "\(action) \(path): \(String(cString: strerror(code))) (errno \(code))",
                           underlying: SystemError(number: code))
    }
}

/// The `errno` of a failed system call, as the underlying error of a `CashetError`: what tells
/// "could not be read" (permissions, I/O, descriptors) from "read, and wrong".
struct SystemError: Error, Sendable {
    let number: Int32
}

/// Runs a system call again while it fails with EINTR.
@inline(__always)
func retryingInterrupts<T: BinaryInteger>(_ call: () -> T) -> T {
    while true {
        let result = call()
        if result >= 0 || errno != EINTR { return result }
    }
}

/// Directory-level file operations, with errors that name the paths.
enum FileSystem {
    /// Writes `path` through a new temporary file beside it: `write` fills the temporary file,
    /// which then replaces `path`. The temporary file gets an unpredictable name and is created
    /// exclusively without following links (`O_EXCL | O_NOFOLLOW`), so a link planted beside
    /// `path` cannot redirect the write. If `write` (or the rename) fails, the temporary file goes
    /// and `path` is left as it was. The rename is made durable with an fsync of the directory.
    ///
    /// A destination that exists and is not a regular file (a device such as `/dev/null`, a FIFO)
    /// is written directly, never replaced.
    static nonisolated(nonsending) func replacing<T>(_ path: String, mode: mode_t,
                                                     _ write: (borrowing PosixFile) async throws(CashetError) -> T) async throws(CashetError) -> T {
        if exists(path) && !isRegularFile(path) {
            return try await write(try PosixFile.openForWriting(path))
        }
        let temporary = path + ".cashet-partial-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        do throws(CashetError) {
            let file = try PosixFile.createExclusive(temporary, mode: mode)
            let result = try await write(file)
            try file.sync()
            try move(temporary, to: path)
            try syncDirectory(parent(of: path).isEmpty ? "." : parent(of: path))
            return result
        } catch {
            try? removeIfPresent(temporary)
            throw error
        }
    }

    /// Atomically replaces `destination` with `source` (same file system).
    static func move(_ source: String, to destination: String) throws(CashetError) {
        guard rename(source, destination) == 0 else { throw PosixFile.error("cannot rename \(source) to", destination) }
    }

    /// Removes a file (a link, not what it points to); a file that is already gone is not an error.
    static func removeIfPresent(_ path: String) throws(CashetError) {
        if unlink(path) == 0 || errno == ENOENT { return }
        throw PosixFile.error("cannot remove", path)
    }

    /// Creates a directory with `mode` (less the umask); an existing one is fine.
    static func makeDirectory(_ path: String, mode: mode_t) throws(CashetError) {
        guard mkdir(path, mode) == 0 || errno == EEXIST else { throw PosixFile.error("cannot create directory", path) }
    }

    /// Makes a rename or unlink inside `directory` durable.
    static func syncDirectory(_ directory: String) throws(CashetError) {
        guard let handle = try PosixFile.openIfExists(directory, flags: O_RDONLY | O_DIRECTORY) else { return }
        try handle.sync()
    }

    /// What one look at `path` finds: nothing, a directory (or a link to one), or anything else.
    enum PathKind { case missing, directory, other }

    /// One look at `path`; a dangling link is `.other`, since something is there.
    static func kind(of path: String) -> PathKind {
        var info = stat()
        if stat(path, &info) == 0 { return (info.st_mode & S_IFMT) == S_IFDIR ? .directory : .other }
        guard lstat(path, &info) == 0 else { return .missing }
        return (info.st_mode & S_IFMT) == S_IFDIR ? .directory : .other   // made between the two calls, or a dangling link
    }

    /// Whether `path` is a regular file (not a device, pipe or directory).
    static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    /// Why writing to `file` may have failed for want of space, or nil when space is not the
    /// problem: the process's file-size limit (`RLIMIT_FSIZE`) is within 1 MiB of the file's size,
    /// or its file system has less than 1 MiB left for this user.
    static func spaceShortage(writing file: String) -> String? {
        let margin = 1 << 20
        var info = stat()
        let size = stat(file, &info) == 0 ? Int(info.st_size) : 0
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max, size + margin >= Int(limit.rlim_cur) {
            return "\(file) reached the process's file-size limit (RLIMIT_FSIZE, \(limit.rlim_cur) bytes)"
        }
        var volume = statvfs()
        let directory = parent(of: file).isEmpty ? "." : parent(of: file)
        if statvfs(directory, &volume) == 0, Int(volume.f_bavail) * Int(volume.f_frsize) < margin {
            return "the file system holding \(directory) is full (No space left on device)"
        }
        return nil
    }

    /// The directory part of `path` ("" for a bare name, "/" for a name at the root), without
    /// Foundation's path methods (one of which crashed on one-character names).
    static func parent(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.last == "/" { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        if slash == trimmed.startIndex { return "/" }
        var parent = trimmed[..<slash]
        while parent.count > 1, parent.last == "/" { parent = parent.dropLast() }
        return String(parent)
    }

    /// Whether anything (a file, directory or link, even a dangling one) has the name `path`.
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Whether `path` itself is a symbolic link.
    static func isSymbolicLink(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK
    }

    /// Whether a process with this id is running (on this machine).
    static func processIsAlive(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }
}
