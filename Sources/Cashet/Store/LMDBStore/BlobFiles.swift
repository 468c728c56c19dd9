import Foundation

/// The `objects/` directory of a store: large blobs as files named by their SHA-256,
/// sharded by its first byte (`objects/ab/cdef…`), plus `objects/tmp/` for files being written
/// and `objects/lock`. Everything is reached through descriptors below the store's root (see
/// ``DirectoryHandle``): a symbolic link planted anywhere in `objects/` is reported, never followed.
///
/// The protocol that keeps files and LMDB records consistent, across processes:
/// - A file is written to `tmp/` under a new random name, fsynced (when durable), and only then,
///   holding the lock, renamed to its final name before the LMDB transaction that references it
///   commits — unless a record of that blob exists already (another writer's file is never
///   replaced, so a record and its file always agree).
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
        /// Its name in `tmp/`.
        let temporaryName: String
        let codec: Codec
        let storedSize: Int
        /// XXH3-64 of the blob's bytes, checked on every load.
        let checksum: UInt64
    }

    let root: StoreRoot
    let durable: Bool
    let permissions: StorePermissions

    init(root: StoreRoot, durable: Bool, permissions: StorePermissions) {
        self.root = root
        self.durable = durable
        self.permissions = permissions
    }

    static let directoryName = "objects"
    static let temporaryName = "tmp"
    static let lockName = "lock"

    /// `objects/`, for messages.
    var path: String { root.path + "/" + Self.directoryName }

    static func shard(of hash: ContentHash) -> String { String(hash.hex.prefix(2)) }
    static func name(of hash: ContentHash) -> String { String(hash.hex.dropFirst(2)) }

    /// The path of a blob's file, for messages.
    func path(of hash: ContentHash) -> String { path + "/" + Self.shard(of: hash) + "/" + Self.name(of: hash) }

    /// `objects/` (created when `create`); nil when missing.
    private func objects(create: Bool = false) throws(CashetError) -> DirectoryHandle? {
        try root.handle.directory(Self.directoryName, createWithMode: create ? permissions.directoryMode : nil)
    }

    private func temporary() throws(CashetError) -> DirectoryHandle {
        guard let objects = try objects(create: true),
              let directory = try objects.directory(Self.temporaryName, createWithMode: permissions.directoryMode) else {
            throw CashetError(.storage, "cannot create \(path)/\(Self.temporaryName)")
        }
        return directory
    }

    /// Creates `objects/` and `objects/tmp/` (writable stores only). A link or a file in place of
    /// either fails the writes that need it, and `fsck` reports it: it must not keep the store
    /// from opening.
    func prepareUnlessDamaged() throws(CashetError) {
        do {
            _ = try temporary()
        } catch where error.code == .corruptData {
            return
        }
    }

    /// Links (paths relative to the root) in place of `objects/` or its lock file, which would
    /// keep ``withLock(_:)`` from taking the lock.
    func linksInTheLockPath() throws(CashetError) -> [String] {
        if try root.handle.kind(of: Self.directoryName) == .symbolicLink { return [Self.directoryName] }
        guard let objects = try objects(), try objects.kind(of: Self.lockName) == .symbolicLink else { return [] }
        return [Self.directoryName + "/" + Self.lockName]
    }

    /// Whether the objects lock file exists (a read-only store may have none and cannot make one).
    func hasLockFile() throws(CashetError) -> Bool {
        guard let objects = try objects() else { return false }
        return try objects.kind(of: Self.lockName) != nil
    }

    /// Runs `body` holding the store's cross-process objects lock (waiting for it off the
    /// cooperative pool).
    nonisolated(nonsending) func withLock<T>(_ body: () throws(CashetError) -> T) async throws(CashetError) -> T {
        guard let objects = try objects(create: true) else { throw CashetError(.storage, "cannot create \(path)") }
        let lock: PosixFile
        do {
            lock = try objects.openFile(Self.lockName, flags: O_RDWR | O_CREAT, mode: permissions.fileMode)!
        } catch where error.code == .permissionDenied {
            // A read-only store: its lock file still serializes readers that check with writers.
            guard let file = try objects.openFile(Self.lockName, flags: O_RDONLY) else { throw error }
            lock = file
        }
        try await lock.lockExclusive()
        return try body()   // the lock is released when `lock` closes
    }

    // MARK: Writing

    /// Writes `bytes` to a new file in `tmp/`: zstd-compressed when a probe of the first
    /// mebibyte shrinks by an eighth, raw otherwise (without a second in-memory copy either way).
    /// Returns nil, leaving nothing behind, when `stop` is raised meanwhile.
    func stage(_ bytes: [UInt8], level: Int32, stop: StopFlag? = nil) throws(CashetError) -> Staged? {
        let directory = try temporary()
        let name = "\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let file = try directory.createExclusive(name, mode: permissions.fileMode)
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
                _ = try? directory.remove(name)
                return nil
            }
            if durable { try file.sync() }
            return Staged(temporaryName: name, codec: codec, storedSize: size, checksum: XXHash.hash64(bytes))
        } catch {
            _ = try? directory.remove(name)
            throw error
        }
    }

    /// Gives a staged file its final name. Call holding the lock, when no record of the blob
    /// exists, before committing the transaction that references it.
    func publish(_ staged: Staged, as hash: ContentHash) throws(CashetError) {
        guard let objects = try objects(create: true) else { throw CashetError(.storage, "cannot create \(path)") }
        let shardName = Self.shard(of: hash)
        guard let shard = try objects.directory(shardName, createWithMode: permissions.directoryMode),
              let temporary = try objects.directory(Self.temporaryName) else {
            throw CashetError(.storage, "cannot publish blob \(hash.hex): \(path) lost a directory")
        }
        try temporary.rename(staged.temporaryName, to: Self.name(of: hash), in: shard)
        if durable { try shard.sync() }   // a new shard's own name was synced when it was made
    }

    /// Removes a staged file that was not published.
    func discard(_ staged: Staged) {
        _ = try? temporary().remove(staged.temporaryName)
    }

    /// Removes a blob's file. Call holding the lock, after the transaction that dropped its
    /// last reference committed.
    func remove(_ hash: ContentHash) throws(CashetError) {
        guard let objects = try objects(), let shard = try objects.directory(Self.shard(of: hash)) else { return }
        try shard.remove(Self.name(of: hash))
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

    /// Whether a blob's file is there (as anything: a link or directory in its place is damage
    /// that reading it reports).
    func exists(_ hash: ContentHash) throws(CashetError) -> Bool {
        guard let objects = try objects(), let shard = try objects.directory(Self.shard(of: hash)) else { return false }
        return try shard.kind(of: Self.name(of: hash)) != nil
    }

    /// The size of a blob's file on disk, or nil when it is missing or not a regular file.
    func storedSize(of hash: ContentHash) throws(CashetError) -> Int? {
        try openBlobFile(hash)?.regularFileSize()
    }

    /// Opens a blob's file, or nil when it is missing. Only a regular file inside the store is
    /// read: a symbolic link (which could point anywhere) or a directory in its place is damage.
    private func openBlobFile(_ hash: ContentHash) throws(CashetError) -> PosixFile? {
        guard let objects = try objects(), let shard = try objects.directory(Self.shard(of: hash)),
              let file = try shard.openFile(Self.name(of: hash), flags: O_RDONLY | O_NONBLOCK) else { return nil }
        guard try file.regularFileSize() != nil else {
            throw CashetError(.corruptData, "the file of blob \(hash.hex) at \(path(of: hash)) is not a regular file (a directory or device is in its place)")
        }
        return file
    }

    // MARK: Leftovers and links (fsck and gc)

    /// A file that holds no result: a final-looking file no record names (a crash between
    /// publishing and committing, or a failed transaction), or the temp file of a dead writer.
    struct Leftover: Sendable {
        /// Its directory below `objects/` (a shard, or `tmp`) and its name there.
        let directory: String
        let name: String
        let isTemporary: Bool
        /// For messages.
        let path: String
    }

    /// What a walk of `objects/` found.
    struct Walk: Sendable {
        var filesSeen = 0
        var leftovers: [Leftover] = []
        /// Symbolic links (paths relative to the store root): damage, never followed.
        var links: [String] = []
    }

    /// Walks `objects/` and returns the leftovers and links in it. Call holding the lock, so no
    /// file is being published or removed meanwhile.
    func walk(isRecordedFile: (ContentHash) throws -> Bool) throws -> Walk {
        var walk = Walk()
        // A link in place of `objects/` itself is reported by the survey of the root.
        guard try root.handle.kind(of: Self.directoryName) == .directory, let objects = try objects() else { return walk }
        for entry in try objects.entries() {
            let kind = try objects.kind(of: entry)
            if kind == .symbolicLink {
                walk.links.append(Self.directoryName + "/" + entry)
                continue
            }
            let isShard = entry.count == 2 && entry.allSatisfy(\.isHexDigit)
            guard kind == .directory, isShard || entry == Self.temporaryName, let directory = try objects.directory(entry) else { continue }
            for name in try directory.entries() {
                let relative = Self.directoryName + "/" + entry + "/" + name
                if try directory.kind(of: name) == .symbolicLink {
                    // In place of a recorded blob's file, the blob's check reports it (and a
                    // repair removes it with the blob); any other link is reported here.
                    let recorded = try isShard && (try? ContentHash(hex: entry + name)).map(isRecordedFile) == true
                    if !recorded { walk.links.append(relative) }
                    continue
                }
                let leftover = Leftover(directory: entry, name: name, isTemporary: !isShard, path: root.path + "/" + relative)
                if isShard {
                    walk.filesSeen += 1
                    let hash = try? ContentHash(hex: entry + name)
                    if try hash.map(isRecordedFile) != true { walk.leftovers.append(leftover) }
                } else if let pid = name.split(separator: "-").first.flatMap({ Int32($0) }), FileSystem.processIsAlive(pid) {
                    continue   // named PID-RANDOM by `stage`: a live writer's file is still being written
                } else {
                    walk.leftovers.append(leftover)
                }
            }
        }
        return walk
    }

    /// Removes a leftover found by ``walk(isRecordedFile:)``. Call holding the lock.
    func remove(_ leftover: Leftover) throws(CashetError) {
        guard let objects = try objects(), let directory = try objects.directory(leftover.directory) else { return }
        try directory.remove(leftover.name)
    }
}
