import CCashetLMDB
import CCashetSystem
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A handle to one named LMDB sub-database, valid for the life of its environment.
struct LMDBDatabase: Sendable, Equatable {
    let handle: MDB_dbi
}

/// Options for opening an environment.
struct LMDBOptions: Sendable {
    var maxDatabases: Int = 16
    var maxReaders: Int = 512
    var initialMapSize: Int = 256 << 20
    /// The map never grows beyond this; a write that needs more fails with `.outOfSpace`.
    var maxMapSize: Int = 1 << 42
    /// Mode of `data.mdb` and `lock.mdb` when created.
    var fileMode: mode_t = 0o600
    var readOnly = false
    /// `MDB_NOSYNC`: commits are not fsynced; an OS crash may lose the newest transactions.
    var noSync = false
}

/// An LMDB (or errno) return code, as an error so it can travel in a `Result`.
struct LMDBCode: Error {
    let rc: Int32
    init(_ rc: Int32) { self.rc = rc }
}

/// Thrown inside a write when LMDB runs out of map space; the transaction loop grows and retries.
private struct LMDBMapFull: Error {}
/// Thrown when another process grew the map; the transaction loop adopts the size and retries.
private struct LMDBMapResized: Error {}

/// One LMDB environment (a directory holding `data.mdb` and `lock.mdb`).
///
/// Transactions never escape: `read` and `write` open one, hand it to a synchronous
/// closure on the calling thread and finish it before returning, so a transaction is never
/// held across `await` and never used from two threads (`MDB_NOTLS` lets read slots follow
/// the transaction instead of the thread).
final class LMDBEnvironment: @unchecked Sendable {
    // Invariant: `env` is a live MDB_env from init until deinit; `close()` is only called from
    // deinit, after every transaction has finished (they cannot outlive `read`/`write`).
    private let env: OpaquePointer
    let path: String
    let isReadOnly: Bool
    private let maxMapSize: Int
    private let mapLock = ReadWriteLock()
    /// Read transactions ended with `mdb_txn_reset`, for `mdb_txn_renew`: a read then neither
    /// allocates a transaction nor takes the reader table's process-shared mutex to find a slot
    /// (the slot stays with the handle). Invariant: each is a live, reset read transaction of
    /// `env`, used by no one while it is here; all are aborted before `env` closes (deinit).
    private let idleReaders = Mutex<[IdleReader]>([])
    /// A reset read transaction; unchecked: only one holder uses it at a time (see `idleReaders`).
    private struct IdleReader: @unchecked Sendable { let txn: OpaquePointer }
    /// At most this many are kept, each holding a reader slot (of `maxReaders`, 512, shared by every
    /// process of the store) while idle: two cover a sequential loop of hits and one concurrent read.
    private static let idleReaderLimit = 2

    /// The directory it is registered under in ``SharedEnvironments``.
    private let sharedAs: SharedEnvironments.Key
    /// Opened with `MDB_NOSYNC`: commits are not flushed unless ``sync()`` is called.
    let isNoSync: Bool

    /// Opens the environment of a store directory. Only ``SharedEnvironments`` calls this: one
    /// environment per directory per process.
    init(path: String, options: LMDBOptions, sharedAs key: SharedEnvironments.Key) throws(CashetError) {
        self.path = path
        self.isReadOnly = options.readOnly
        self.isNoSync = options.noSync
        self.maxMapSize = options.maxMapSize
        self.sharedAs = key
        var flags = UInt32(MDB_NOTLS) | UInt32(MDB_NORDAHEAD)
        if options.readOnly { flags |= UInt32(MDB_RDONLY) }
        if options.noSync { flags |= UInt32(MDB_NOSYNC) }
        var opened = Self.open(path, options, flags: flags)
        if case .success(let env) = opened {
            // LMDB aborts after a failed assertion (a damaged file): keep its words for the report.
            mdb_env_set_assert(env) { _, message in cashet_note_storage_assertion(message) }
        }
        if case .failure(let code) = opened, code.rc == EACCES, options.readOnly {
            // The lock file is not ours to write (a store shared read-only): read without LMDB's
            // reader table. Safe while nobody writes the store; documented in README ("Limits").
            opened = Self.open(path, options, flags: flags | UInt32(MDB_NOLOCK))
        }
        switch opened {
        case .success(let env):
            // A meta page naming pages past the end of the file (a power cut with MDB_NOSYNC, or a
            // truncated copy) would make the first read fault (SIGBUS): refuse such a file here,
            // before `self` is whole (so no deinit closes it again).
            if let shortage = Self.truncation(env) {
                mdb_env_close(env)
                throw CashetError(.corruptData, "\(path)/data.mdb is damaged: its newest snapshot uses \(shortage.needed) bytes, but the file has \(shortage.size) (a power cut with noSync, or a truncated copy); `cashet fsck --repair --rebuild` rebuilds it from the pages still there")
            }
            self.env = env
        case .failure(let code) where (code.rc == EACCES || code.rc == EROFS) && !options.readOnly:
            throw CashetError(.permissionDenied, "cannot open the store at \(path) for writing: \(String(cString: strerror(code.rc))); open it read-only to read it (cashet's read commands do)")
        case .failure(let code): throw lmdbError(code.rc, "opening the LMDB environment", path: path)
        }
        // Reader slots left behind by crashed processes would pin old pages forever.
        checkStaleReaders()
    }

    /// Frees the reader slots of processes that died holding one (`mdb_reader_check`): at open,
    /// and whenever a reader table looks full.
    func checkStaleReaders() {
        var dead: Int32 = 0
        _ = mdb_reader_check(env, &dead)
    }

    /// Whether the file this environment has open is the one `directory` names `name` (not
    /// unlinked, not replaced by another file since it was opened).
    func isDataFile(named name: String, in directory: Int32) -> Bool {
        var fd: Int32 = -1
        var open = stat()
        var named = stat()
        guard mdb_env_get_fd(env, &fd) == 0, fstat(fd, &open) == 0,
              fstatat(directory, name, &named, AT_SYMLINK_NOFOLLOW) == 0 else { return false }
        return open.st_dev == named.st_dev && open.st_ino == named.st_ino
    }

    /// The bytes the newest snapshot needs and the file's size, when the file is shorter and
    /// lacks a page the snapshot uses. Pages LMDB allocated and freed in one transaction are
    /// never written, so a healthy file may end before the snapshot's last page: then the free
    /// list (read with `pread`, not the map) must name every page past the end.
    private static func truncation(_ env: OpaquePointer) -> (needed: Int, size: Int)? {
        var info = MDB_envinfo()
        var tables = MDB_stat()
        var fd: Int32 = -1
        var file = stat()
        guard mdb_env_info(env, &info) == 0, mdb_env_stat(env, &tables) == 0, mdb_env_get_fd(env, &fd) == 0, fstat(fd, &file) == 0 else { return nil }
        let needed = (info.me_last_pgno + 1) * Int(tables.ms_psize)
        guard Int(file.st_size) < needed else { return nil }
        if let copy = try? PosixFile.duplicate(fd), let walker = try? LMDBFileWalker(file: copy, transaction: UInt64(info.me_last_txnid)),
           walker.meta.lastPage == UInt64(info.me_last_pgno) {
            walker.walkFreeList()
            if walker.missingPagesAreFree { return nil }
        }
        return (needed, Int(file.st_size))
    }

    /// Writes a compacted copy of the `data.mdb` in `directory` to the open file `destination`:
    /// LMDB's `mdb_env_copyfd2` with `MDB_CP_COMPACT` copies the pages of the newest snapshot
    /// that are in use, renumbered, and leaves free pages out. The environment is opened
    /// read-only without LMDB's lock file (`MDB_NOLOCK`) and closed before returning.
    /// Invariant: the caller holds the store to itself (no process writes it meanwhile, which
    /// `MDB_NOLOCK` would not notice), and has checked its structure (LMDB trusts its pages).
    static func writeCompactedCopy(of directory: String, to destination: Int32) throws(CashetError) {
        var options = LMDBOptions()
        options.readOnly = true
        let flags = UInt32(MDB_RDONLY) | UInt32(MDB_NOLOCK) | UInt32(MDB_NOTLS) | UInt32(MDB_NORDAHEAD)
        switch open(directory, options, flags: flags) {
        case .failure(let code):
            throw lmdbError(code.rc, "opening data.mdb to compact it", path: directory)
        case .success(let env):
            defer { mdb_env_close(env) }
            if let shortage = truncation(env) {
                throw CashetError(.corruptData, "\(directory)/data.mdb is damaged: its newest snapshot uses \(shortage.needed) bytes, but the file has \(shortage.size)")
            }
            try lmdbCheck(mdb_env_copyfd2(env, destination, UInt32(MDB_CP_COMPACT)), "writing a compacted copy of data.mdb", path: directory)
        }
    }

    /// Creates and opens an environment, or returns the LMDB code of the step that failed
    /// (having closed the half-made handle, as LMDB requires).
    private static func open(_ path: String, _ options: LMDBOptions, flags: UInt32) -> Result<OpaquePointer, LMDBCode> {
        var created: OpaquePointer?
        let rc = mdb_env_create(&created)
        guard rc == MDB_SUCCESS, let env = created else { return .failure(LMDBCode(rc)) }
        for step in [
            { mdb_env_set_maxdbs(env, MDB_dbi(options.maxDatabases)) },
            { mdb_env_set_maxreaders(env, UInt32(options.maxReaders)) },
            { mdb_env_set_mapsize(env, options.initialMapSize) },
            { mdb_env_open(env, path, flags, options.fileMode) },
        ] {
            let rc = step()
            if rc != MDB_SUCCESS {
                mdb_env_close(env)
                return .failure(LMDBCode(rc))
            }
        }
        return .success(env)
    }

    deinit {
        let env = env
        for idle in idleReaders.withLock({ $0 }) { mdb_txn_abort(idle.txn) }
        SharedEnvironments.close(sharedAs) { mdb_env_close(env) }
    }

    /// Begins a transaction: a read renews an idle one when there is one.
    private func begin(writable: Bool) throws -> OpaquePointer {
        if !writable, let idle = idleReaders.withLock({ $0.popLast() })?.txn {
            let rc = mdb_txn_renew(idle)
            if rc == MDB_SUCCESS { return idle }
            mdb_txn_abort(idle)
            if rc == MDB_MAP_RESIZED { throw LMDBMapResized() }
        }
        var txn: OpaquePointer?
        var rc = mdb_txn_begin(env, nil, writable ? 0 : UInt32(MDB_RDONLY), &txn)
        if rc == MDB_READERS_FULL {
            // Perhaps slots of processes that died since this one opened the store.
            checkStaleReaders()
            rc = mdb_txn_begin(env, nil, writable ? 0 : UInt32(MDB_RDONLY), &txn)
        }
        if rc == MDB_MAP_RESIZED { throw LMDBMapResized() }
        try lmdbCheck(rc, "beginning a transaction", path: path)
        guard let txn else { throw CashetError(.storage, "mdb_txn_begin returned no transaction in \(path)") }
        return txn
    }

    /// Ends a read transaction, keeping its handle (and reader slot) for the next read when
    /// fewer than ``idleReaderLimit`` are idle.
    private func finishRead(_ txn: OpaquePointer) {
        mdb_txn_reset(txn)
        let kept = idleReaders.withLock { idle in
            guard idle.count < Self.idleReaderLimit else { return false }
            idle.append(IdleReader(txn: txn))
            return true
        }
        if !kept { mdb_txn_abort(txn) }
    }

    /// Opens named sub-databases in one transaction, creating missing ones when `create`.
    ///
    /// The transaction is committed even when read-only: LMDB closes handles opened in a
    /// transaction that is aborted.
    func openDatabases(_ specs: [(name: String, dupSort: Bool)], create: Bool) throws -> [LMDBDatabase] {
        let creating = create && !isReadOnly
        return try transaction(writable: creating, commitReadOnly: true) { txn in
            try specs.map { spec in
                var flags: UInt32 = spec.dupSort ? UInt32(MDB_DUPSORT) : 0
                if creating { flags |= UInt32(MDB_CREATE) }
                return try txn.openDatabase(spec.name, flags: flags)
            }
        }
    }

    /// Runs `body` inside a read-only transaction.
    func read<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        try transaction(writable: false, body)
    }

    /// Runs `body` inside a write transaction and commits it.
    ///
    /// When the map is full, the transaction is aborted, the map doubled and `body` run
    /// again, so `body` must only touch the transaction, not outside state.
    func write<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        guard !isReadOnly else {
            throw CashetError(.storage, "the store at \(path) is open read-only; cannot write")
        }
        return try transaction(writable: true, body)
    }

    /// One loop for both kinds: map changes are applied between attempts, when this process
    /// holds no transaction (the write side of `mapLock`), as `mdb_env_set_mapsize` requires.
    private func transaction<T>(writable: Bool, commitReadOnly: Bool = false, _ body: (LMDBTransaction) throws -> T) throws -> T {
        // Counted, so a command-line tool can tell a crash inside LMDB's mapped file (damage)
        // from a crash elsewhere (see StorageCrashReport).
        cashet_storage_enter()
        defer { cashet_storage_leave() }
        while true {
            do {
                return try mapLock.withReadLock {
                    let txn = try begin(writable: writable)
                    let result: T
                    do {
                        result = try body(LMDBTransaction(txn: txn, path: path))
                    } catch {
                        mdb_txn_abort(txn)
                        throw error
                    }
                    guard writable || commitReadOnly else {
                        finishRead(txn)
                        return result
                    }
                    let commitCode = mdb_txn_commit(txn)
                    if commitCode == MDB_MAP_FULL { throw LMDBMapFull() }
                    try lmdbCheck(commitCode, "committing a write transaction", path: path)
                    return result
                }
            } catch is LMDBMapFull {
                try resizeMap(grow: true)
            } catch is LMDBMapResized {
                try resizeMap(grow: false)
            }
        }
    }

    /// Doubles the map (`grow`), up to `maxMapSize`, or adopts the size another process set
    /// (size 0 = "current").
    private func resizeMap(grow: Bool) throws {
        try mapLock.withWriteLock {
            var info = MDB_envinfo()
            mdb_env_info(env, &info)
            if grow && info.me_mapsize >= maxMapSize {
                throw CashetError(.outOfSpace, "the store at \(path) reached its map limit of \(info.me_mapsize) bytes (maxMapSize); the write was abandoned and nothing committed before it is lost. Raise maxMapSize or remove results (cashet gc)")
            }
            let size = grow ? min(info.me_mapsize * 2, max(maxMapSize, info.me_mapsize)) : 0
            try lmdbCheck(mdb_env_set_mapsize(env, size), grow ? "growing the memory map" : "adopting a larger memory map", path: path)
        }
    }

    /// The current size of the memory map in bytes.
    var mapSize: Int {
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        return info.me_mapsize
    }

    /// Bytes of the data file in use (last page number × page size).
    var usedBytes: Int {
        var info = MDB_envinfo()
        var stat = MDB_stat()
        mdb_env_info(env, &info)
        mdb_env_stat(env, &stat)
        return (info.me_last_pgno + 1) * Int(stat.ms_psize)
    }

    /// Flushes buffered commits to disk (meaningful with `noSync`).
    func sync() throws {
        try lmdbCheck(mdb_env_sync(env, 1), "syncing the environment", path: path)
    }

    fileprivate static func mapFull() -> any Error { LMDBMapFull() }
}

/// A transaction borrowed from `LMDBEnvironment.read` or `.write`; valid only inside that closure.
struct LMDBTransaction {
    // Invariant: `txn` is live for the duration of the closure that received this value.
    fileprivate let txn: OpaquePointer
    let path: String

    /// The snapshot's transaction number (the meta page that describes it carries the same).
    var id: UInt64 { UInt64(mdb_txn_id(txn)) }

    fileprivate func openDatabase(_ name: String, flags: UInt32) throws -> LMDBDatabase {
        var dbi: MDB_dbi = 0
        let rc = mdb_dbi_open(txn, name, flags, &dbi)
        if rc == MDB_NOTFOUND {
            throw CashetError(.notAStore, "\(path) has no '\(name)' table; it is not a cashet store or is damaged")
        }
        try checkWrite(rc, "opening table '\(name)'")
        return LMDBDatabase(handle: dbi)
    }

    /// The named sub-database, which must exist (`.notAStore` otherwise).
    func openExisting(_ name: String) throws -> LMDBDatabase {
        try openDatabase(name, flags: 0)
    }

    /// Whether the named sub-database exists.
    func hasDatabase(_ name: String) throws -> Bool {
        var dbi: MDB_dbi = 0
        let rc = mdb_dbi_open(txn, name, 0, &dbi)
        if rc == MDB_NOTFOUND { return false }
        try lmdbCheck(rc, "looking for table '\(name)'", path: path)
        return true
    }

    /// How many entries the main database holds (each named sub-database is one).
    func namedDatabaseCount() throws -> Int {
        var dbi: MDB_dbi = 0
        try lmdbCheck(mdb_dbi_open(txn, nil, 0, &dbi), "opening the main table", path: path)
        return try count(LMDBDatabase(handle: dbi))
    }

    /// Opens the named sub-databases, creating the missing ones (in a write transaction).
    func createDatabases(_ specs: [(name: String, dupSort: Bool)]) throws -> [LMDBDatabase] {
        try specs.map { spec in try openDatabase(spec.name, flags: UInt32(MDB_CREATE) | (spec.dupSort ? UInt32(MDB_DUPSORT) : 0)) }
    }

    /// What `body` makes of the value stored under `key`, or nil when there is none. `body` reads
    /// the value in place: the buffer points into the map and is valid only until `body` returns
    /// (the transaction outlives the call), so whatever it keeps it must copy.
    func withValue<R>(_ db: LMDBDatabase, key: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val()
        let rc = mdb_get(txn, db.handle, &k, &v)
        if rc == MDB_NOTFOUND { return nil }
        try lmdbCheck(rc, "reading a record", path: path)
        return try body(UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }

    /// The value stored under `key`, copied out of the map, or nil.
    func get(_ db: LMDBDatabase, _ key: [UInt8]) throws -> [UInt8]? {
        try key.withUnsafeBytes { keyBytes in
            var k = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            var v = MDB_val()
            let rc = mdb_get(txn, db.handle, &k, &v)
            if rc == MDB_NOTFOUND { return nil }
            try lmdbCheck(rc, "reading a record", path: path)
            // The value points into the map, valid only while the transaction lives: copy it.
            return copyOut(v)
        }
    }

    /// Whether `key` is present (with `value`, in a DUPSORT table, when one is given).
    func contains(_ db: LMDBDatabase, _ key: [UInt8], value: [UInt8]? = nil) throws -> Bool {
        guard let value else { return try get(db, key) != nil }
        return try withCursor(db) { cursor in
            // MDB_GET_BOTH only reads through the two values, which outlive the call.
            let rc = withVals(key, value) { k, v in mdb_cursor_get(cursor.cursor, &k, &v, MDB_GET_BOTH) }
            if rc == MDB_NOTFOUND { return false }
            try lmdbCheck(rc, "looking up a record", path: path)
            return true
        }
    }

    /// Stores `value` under `key`. Returns false when `noOverwrite`/`noDuplicate` found it present.
    @discardableResult
    func put(_ db: LMDBDatabase, _ key: [UInt8], _ value: [UInt8], noOverwrite: Bool = false, noDuplicate: Bool = false) throws -> Bool {
        var flags: UInt32 = 0
        if noOverwrite { flags |= UInt32(MDB_NOOVERWRITE) }
        if noDuplicate { flags |= UInt32(MDB_NODUPDATA) }
        let rc = withVals(key, value) { k, v in mdb_put(txn, db.handle, &k, &v, flags) }
        if rc == MDB_KEYEXIST { return false }
        try checkWrite(rc, "writing a record")
        return true
    }

    /// Deletes `key` (or, in a DUPSORT table, only the pair `key`/`value`). Returns false if absent.
    @discardableResult
    func delete(_ db: LMDBDatabase, _ key: [UInt8], value: [UInt8]? = nil) throws -> Bool {
        let rc: Int32
        if let value {
            rc = withVals(key, value) { k, v in mdb_del(txn, db.handle, &k, &v) }
        } else {
            rc = key.withUnsafeBytes { keyBytes in
                var k = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
                return mdb_del(txn, db.handle, &k, nil)
            }
        }
        if rc == MDB_NOTFOUND { return false }
        // Deleting can need new pages too (copy-on-write of the path to the leaf).
        try checkWrite(rc, "deleting a record")
        return true
    }

    /// Removes every record of `db`, keeping the table: its pages go to the free list in one
    /// pass, without a search per key.
    func empty(_ db: LMDBDatabase) throws {
        try checkWrite(mdb_drop(txn, db.handle, 0), "emptying a table")
    }

    /// Like `lmdbCheck`, but a full map becomes the signal for `transaction` to grow it and run
    /// the whole body again, whichever change inside the body ran out of room.
    private func checkWrite(_ rc: Int32, _ operation: @autoclosure () -> String) throws {
        if rc == MDB_MAP_FULL { throw LMDBEnvironment.mapFull() }
        try lmdbCheck(rc, operation(), path: path)
    }

    /// Number of entries in a table (O(1): read from the B-tree header).
    func count(_ db: LMDBDatabase) throws -> Int {
        var stat = MDB_stat()
        try lmdbCheck(mdb_stat(txn, db.handle, &stat), "reading table statistics", path: path)
        return stat.ms_entries
    }

    /// Runs `body` with a cursor over `db`; the cursor is closed afterwards.
    func withCursor<T>(_ db: LMDBDatabase, _ body: (LMDBCursor) throws -> T) throws -> T {
        var cursor: OpaquePointer?
        try lmdbCheck(mdb_cursor_open(txn, db.handle, &cursor), "opening a cursor", path: path)
        guard let cursor else { throw CashetError(.storage, "mdb_cursor_open returned no cursor in \(path)") }
        defer { mdb_cursor_close(cursor) }
        return try body(LMDBCursor(cursor: cursor, path: path))
    }

    /// Calls `body` with every entry of `db` whose key starts with `prefix`, in key order.
    func forEach(_ db: LMDBDatabase, withPrefix prefix: [UInt8], _ body: (_ key: [UInt8], _ value: [UInt8]) throws -> Void) throws {
        try withCursor(db) { cursor in
            var entry = try cursor.move(.setRange, key: prefix)
            while let current = entry, current.key.starts(with: prefix) {
                try body(current.key, current.value)
                entry = try cursor.move(.next)
            }
        }
    }

    /// Calls `body` with every entry of `db` in key order (every duplicate, in DUPSORT tables).
    func forEach(_ db: LMDBDatabase, _ body: (_ key: [UInt8], _ value: [UInt8]) throws -> Void) throws {
        try withCursor(db) { cursor in
            var entry = try cursor.move(.first)
            while let current = entry {
                try body(current.key, current.value)
                entry = try cursor.move(.next)
            }
        }
    }
}

/// Cursor positioning operations used by the store.
enum LMDBCursorOperation {
    case first, last, next, previous
    /// First key ≥ the given key.
    case setRange
    /// Exactly the given key (first duplicate).
    case setKey
    case nextDuplicate, previousDuplicate, firstDuplicate, lastDuplicate
    case nextKey, previousKey

    fileprivate var raw: MDB_cursor_op {
        switch self {
        case .first: MDB_FIRST
        case .last: MDB_LAST
        case .next: MDB_NEXT
        case .previous: MDB_PREV
        case .setRange: MDB_SET_RANGE
        case .setKey: MDB_SET_KEY
        case .nextDuplicate: MDB_NEXT_DUP
        case .previousDuplicate: MDB_PREV_DUP
        case .firstDuplicate: MDB_FIRST_DUP
        case .lastDuplicate: MDB_LAST_DUP
        case .nextKey: MDB_NEXT_NODUP
        case .previousKey: MDB_PREV_NODUP
        }
    }
}

/// A cursor borrowed from `LMDBTransaction.withCursor`; valid only inside that closure.
struct LMDBCursor {
    // Invariant: `cursor` is live for the duration of the closure that received this value.
    fileprivate let cursor: OpaquePointer
    let path: String

    /// Moves the cursor and returns the entry it lands on (copied), or nil at the end.
    func move(_ operation: LMDBCursorOperation, key: [UInt8] = []) throws -> (key: [UInt8], value: [UInt8])? {
        try key.withUnsafeBytes { keyBytes in
            var k = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            var v = MDB_val()
            let rc = mdb_cursor_get(cursor, &k, &v, operation.raw)
            if rc == MDB_NOTFOUND { return nil }
            try lmdbCheck(rc, "moving a cursor", path: path)
            return (copyOut(k), copyOut(v))
        }
    }

    /// Moves to the first duplicate of `key` that is ≥ `value` (DUPSORT tables: `MDB_GET_BOTH_RANGE`),
    /// and returns it (copied), or nil when `key` has none that large.
    func moveToDuplicate(atLeast value: [UInt8], of key: [UInt8]) throws -> (key: [UInt8], value: [UInt8])? {
        let (rc, entry) = withVals(key, value) { k, v in
            let rc = mdb_cursor_get(cursor, &k, &v, MDB_GET_BOTH_RANGE)
            return (rc, rc == MDB_SUCCESS ? (copyOut(k), copyOut(v)) : nil)
        }
        if rc == MDB_NOTFOUND { return nil }
        try lmdbCheck(rc, "moving a cursor", path: path)
        return entry
    }

    /// Number of duplicates under the current key (DUPSORT tables).
    func duplicateCount() throws -> Int {
        var count: Int = 0
        try lmdbCheck(mdb_cursor_count(cursor, &count), "counting duplicates", path: path)
        return count
    }
}

/// Copies an `MDB_val` that points into the map (valid only inside its transaction).
private func copyOut(_ val: MDB_val) -> [UInt8] {
    guard let data = val.mv_data, val.mv_size > 0 else { return [] }
    return [UInt8](UnsafeRawBufferPointer(start: data, count: val.mv_size))
}

/// Presents two byte arrays as `MDB_val`s for the duration of `body` (LMDB copies them on put).
private func withVals<R>(_ key: [UInt8], _ value: [UInt8], _ body: (inout MDB_val, inout MDB_val) -> R) -> R {
    key.withUnsafeBytes { keyBytes in
        value.withUnsafeBytes { valueBytes in
            var k = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            var v = MDB_val(mv_size: valueBytes.count, mv_data: UnsafeMutableRawPointer(mutating: valueBytes.baseAddress))
            return body(&k, &v)
        }
    }
}
