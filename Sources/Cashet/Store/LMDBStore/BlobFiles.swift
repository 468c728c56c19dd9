import Foundation

/// The `objects/` directory of a store: large blobs as files named by their SHA-256,
/// sharded by its first byte (`objects/ab/cdef…`), plus `objects/tmp/` for files being written
/// and `objects/lock`.
///
/// The protocol that keeps files and LMDB records consistent, across processes:
/// - A file is written to `tmp/`, fsynced (when durable), and only then, holding the lock,
///   renamed to its final name before the LMDB transaction that references it commits.
/// - A transaction that drops a file's last reference commits holding the lock, and the file
///   is unlinked before the lock is released.
/// - So, while the lock is held, a final file without a committed record is garbage from a
///   crash (or a failed transaction) and may be removed; and a record never names a file that
///   is not there, unless the disk was damaged.
struct BlobFiles: Sendable {
    /// How a file holds its blob.
    enum Codec: UInt8, Sendable {
        case raw = 0
        case zstd = 1
    }

    /// A blob written to `tmp/`, ready to be published under its hash.
    struct Staged {
        let temporaryPath: String
        let codec: Codec
        let storedSize: Int
        /// XXH3-64 of the blob's bytes, checked on every load.
        let checksum: UInt64
    }

    let root: String
    let durable: Bool
    let permissions: StorePermissions

    init(storePath: String, durable: Bool, permissions: StorePermissions) {
        root = storePath + "/objects"
        self.durable = durable
        self.permissions = permissions
    }

    var temporaryDirectory: String { root + "/tmp" }
    var lockPath: String { root + "/lock" }

    func directory(of hash: ContentHash) -> String { root + "/" + hash.hex.prefix(2) }
    func path(of hash: ContentHash) -> String { directory(of: hash) + "/" + hash.hex.dropFirst(2) }

    /// Creates `objects/` and `objects/tmp/` (writable stores only).
    func prepare() throws(CashetError) {
        try FileSystem.makeDirectory(root, mode: permissions.directoryMode)
        try FileSystem.makeDirectory(temporaryDirectory, mode: permissions.directoryMode)
    }

    /// Runs `body` holding the store's cross-process objects lock.
    func withLock<T>(_ body: () throws(CashetError) -> T) throws(CashetError) -> T {
        let lock = try PosixFile.createOrOpen(lockPath, mode: permissions.fileMode)
        try lock.lockExclusive()
        return try body()   // the lock is released when `lock` closes
    }

    // MARK: Writing

    /// Writes `bytes` to a new file in `tmp/`: zstd-compressed when a probe of the first
    /// mebibyte shrinks by an eighth, raw otherwise (without a second in-memory copy either way).
    /// Returns nil, leaving nothing behind, when `stop` is raised meanwhile.
    func stage(_ bytes: [UInt8], level: Int32, stop: StopFlag? = nil) throws(CashetError) -> Staged? {
        let path = temporaryDirectory + "/\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let file = try PosixFile.createExclusive(path, mode: permissions.fileMode)
        let shouldStop = { stop?.isRaised ?? false }
        // Durable files start writing back as they grow, so the final fsync has little left to wait for.
        let write = { (chunk: UnsafeRawBufferPointer) throws(CashetError) in
            try file.writeAll(chunk)
            if durable { file.startWriteback() }
        }
        do throws(CashetError) {
            let written = try withContiguousBytes(of: bytes) { input throws(CashetError) -> (Codec, Int)? in
                switch try Zstd.compress(input, level: level, shouldStop: shouldStop, write: write) {
                case .stopped: return nil
                case .compressed(let size) where size < input.count: return (.zstd, size)
                case .compressed:
                    try file.rewind()
                    fallthrough
                case .incompressible:
                    // In chunks, so a raised stop is seen while writing too.
                    for start in stride(from: 0, to: input.count, by: Zstd.streamBufferSize) {
                        if shouldStop() { return nil }
                        try write(UnsafeRawBufferPointer(rebasing: input[start..<min(start + Zstd.streamBufferSize, input.count)]))
                    }
                    return (.raw, input.count)
                }
            }
            guard let (codec, size) = written else {
                try? FileSystem.removeIfPresent(path)
                return nil
            }
            if durable { try file.sync() }
            return Staged(temporaryPath: path, codec: codec, storedSize: size, checksum: XXHash.hash64(bytes))
        } catch {
            try? FileSystem.removeIfPresent(path)
            throw error
        }
    }

    /// Gives a staged file its final name. Call holding the lock, before committing the
    /// transaction that references it.
    func publish(_ staged: Staged, as hash: ContentHash) throws(CashetError) {
        let directory = directory(of: hash)
        try FileSystem.makeDirectory(directory, mode: permissions.directoryMode)
        try FileSystem.move(staged.temporaryPath, to: path(of: hash))
        if durable { try FileSystem.syncDirectory(directory) }
    }

    /// Removes a staged file that was not published.
    func discard(_ staged: Staged) {
        try? FileSystem.removeIfPresent(staged.temporaryPath)
    }

    /// Removes a blob's file. Call holding the lock, after the transaction that dropped its
    /// last reference committed.
    func remove(_ hash: ContentHash) throws(CashetError) {
        try FileSystem.removeIfPresent(path(of: hash), evenADirectory: true)
    }

    // MARK: Reading

    /// Streams a blob's file into `sink`, checking its size (the caller checks the checksum).
    /// Returns false when the file is missing.
    func read(_ hash: ContentHash, codec: Codec, size: Int, into sink: inout some ByteSink & ~Copyable) throws(CashetError) -> Bool {
        guard let file = try openBlobFile(hash) else { return false }
        switch codec {
        case .raw: try copyRaw(file, expectedSize: size, into: &sink)
        case .zstd: try Zstd.decompress(file, expectedSize: size, into: &sink)
        }
        return true
    }

    /// Opens a blob's file, or nil when it is missing. Only a regular file inside the store is
    /// read: a symbolic link (which could point anywhere) or a directory in its place is damage.
    private func openBlobFile(_ hash: ContentHash) throws(CashetError) -> PosixFile? {
        let path = path(of: hash)
        do throws(CashetError) {
            guard let file = try PosixFile.openIfExists(path, flags: O_RDONLY | O_NOFOLLOW | O_NONBLOCK) else { return nil }
            guard try file.regularFileSize() != nil else {
                throw CashetError(.corruptData, "the file of blob \(hash.hex) at \(path) is not a regular file (a directory or device is in its place)")
            }
            return file
        } catch where error.code != .corruptData && FileSystem.isSymbolicLink(path) {
            throw CashetError(.corruptData, "the file of blob \(hash.hex) at \(path) is a symbolic link; cashet reads only regular files inside its store")
        }
    }

    // MARK: Leftovers (fsck and gc)

    /// A file that holds no result: a final-looking file no record names (a crash between
    /// publishing and committing, or a failed transaction), or the temp file of a dead writer.
    struct Leftover {
        let path: String
        let isTemporary: Bool
    }

    /// Lists the files in `objects/` and returns those that are leftovers. Call holding the lock,
    /// so no file is being published or removed meanwhile.
    func leftovers(isRecordedFile: (ContentHash) throws -> Bool) throws -> (filesSeen: Int, leftovers: [Leftover]) {
        var seen = 0
        var leftovers: [Leftover] = []
        for shard in try FileSystem.entries(of: root) where shard.count == 2 && shard.allSatisfy(\.isHexDigit) {
            for name in try FileSystem.entries(of: root + "/" + shard) {
                seen += 1
                let hash = try? ContentHash(hex: shard + name)
                if try hash.map(isRecordedFile) != true { leftovers.append(Leftover(path: root + "/" + shard + "/" + name, isTemporary: false)) }
            }
        }
        for name in try FileSystem.entries(of: temporaryDirectory) {
            // Named PID-RANDOM by `stage`: a live writer's file is still being written.
            if let pid = name.split(separator: "-").first.flatMap({ Int32($0) }), FileSystem.processIsAlive(pid) { continue }
            leftovers.append(Leftover(path: temporaryDirectory + "/" + name, isTemporary: true))
        }
        return (seen, leftovers)
    }
}
