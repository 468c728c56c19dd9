import Foundation
import Logging
import Synchronization

/// The default store: one LMDB environment in a directory.
///
/// Commits, the fingerprint index, tag/function/time indexes, function sources, blobs and
/// their metadata live in named sub-databases of `data.mdb`. A cache hit is one read
/// transaction. A recorded commit goes to the store's journal and is applied to LMDB by a
/// flush (``Configuration/Durability/normal``, the default); every other change is one synced
/// write transaction (see ``Configuration/Durability`` for the other modes).
///
/// ```swift
/// let client = Client(store: try LMDBStore("/var/cache/myapp/.cashet"))
/// ```
public final class LMDBStore: Store {
    /// How the store is opened.
    public struct Configuration: Sendable {
        /// What a crash can lose. Stores opened on one directory in one process share one LMDB
        /// environment; each keeps its own durability (a durable store's writes are flushed even
        /// when a `.noSync` store opened the environment).
        public enum Durability: Sendable {
            /// Every write is fsynced before it returns: nothing acknowledged is lost.
            case durable
            /// The promise of SQLite's WAL with `synchronous=NORMAL`: a recorded commit goes to
            /// the store's journal (no fsync) and is acknowledged there, visible to every process
            /// at once and safe from a crash of the process; a flush applies the journal to LMDB
            /// in one synced transaction (at ``Configuration/journalFlushInterval``, every few
            /// thousand commits, before any other change, listing or check, and at close). A
            /// power cut may lose the commits of the last flush interval, never the store's
            /// integrity. Large results (files) and large batches are written durably at once.
            case normal
            /// Writes are not fsynced. A crash of the *process* loses nothing; a crash of the
            /// operating system or power may lose the newest writes (never corrupts the store).
            case noSync
        }

        /// Create the directory and store when missing (default true). When false, opening
        /// a path without a store fails with `.notAStore`.
        public var create = true
        /// Open for reading only: writes fail, nothing on disk changes.
        public var readOnly = false
        /// Durability of writes: ``Durability/normal`` (the journal) by default.
        public var durability = Durability.normal
        /// With ``Durability/normal``: how long a journaled commit may wait for its flush to
        /// LMDB (what a power cut can lose).
        public var journalFlushInterval = Duration.milliseconds(100)
        /// zstd level for blobs that are compressed (1 fastest … 19 smallest).
        public var compressionLevel: Int32 = 3
        /// Blobs of at least this many bytes are compressed when that saves space.
        public var compressionThreshold = 512
        /// Blobs of at least this many bytes go to their own zstd (or raw) file in `objects/`
        /// instead of inline LMDB values. 1 MiB by measurement (`CashetLargeBlobs threshold`, see
        /// README): below it a durable file costs up to ~1.9× an inline value (its own fsync and
        /// its directory's); from there the costs meet, and files win on what latency does not
        /// show: gc returns their space to the file system (data.mdb never shrinks), loads and
        /// exports stream, and the write lock is not held while copying megabytes.
        public var fileThreshold = 1 << 20
        /// How many recent blob hashes the in-process XXH3 prehash memo keeps (0 turns it off).
        public var prehashCapacity = 4096
        /// Re-hash every loaded blob with SHA-256 (~1.8 GB/s) and refuse one that does not match.
        /// Off by default: files are always checked against their XXH3-64 and size, and inline
        /// blobs against their size (and zstd's framing); `cashet fsck` checks every SHA-256.
        public var verifyOnLoad = false
        /// Initial memory-map size; the map doubles automatically when full.
        public var initialMapSize = 256 << 20
        /// The largest the memory map (so `data.mdb`) may grow: 4 TiB by default. A write that
        /// needs more fails with `.outOfSpace` and changes nothing.
        public var maxMapSize = 1 << 42
        /// Who may read the directories and files the store creates (default: the owner only).
        public var permissions = StorePermissions.owner
        /// The schema a new store is created with (an existing store keeps its own until migrated).
        public var schema = Schema(rawValue: LMDBStore.schemaVersion)!
        /// What a writable opening does with a store of an older schema.
        public enum Migration: Sendable {
            /// Upgrades it (``LMDBStore/migrate(at:configuration:progress:)``) when this opening
            /// has it to itself. When it cannot (another process or opening has the store, the
            /// store is damaged, the disk is full), it opens the store as it is, which works as
            /// before, and a later opening tries again; `cashet migrate` says why.
            case onOpen
            /// Opens it as it is; `cashet migrate` upgrades it.
            case manual
        }
        /// ``Migration/onOpen`` by default.
        public var migration = Migration.onOpen
        /// Called during a migration on open with the commits copied so far and the total.
        public var migrationProgress: (@Sendable (_ done: Int, _ total: Int) -> Void)?
        /// Where the store reports what it does in the background or recovers from: journal and
        /// access-log flushes that failed (`warning`), a migration on open (`notice`, or
        /// `warning` when it could not run), repairs (`notice`). Its metadata names the store's
        /// path. Quiet by default.
        public var logger: Logger = .cashetQuiet

        /// The default configuration.
        public init() {}
    }

    /// The schema version this build creates stores with; it reads stores of every version up to
    /// ``newestSchemaVersion`` and refuses higher ones.
    public static let schemaVersion: UInt32 = 2
    /// The newest schema version this build reads.
    public static let newestSchemaVersion: UInt32 = Schema.allCases.map(\.rawValue).max()!

    /// The store directory.
    public let path: String
    let configuration: Configuration
    let env: LMDBEnvironment
    let tables: Tables
    /// Large blobs' files.
    let files: BlobFiles
    /// SHA-256 of recently stored bytes, by XXH3-128.
    let prehash: PrehashMemo
    /// Hit times and call counts not yet written.
    let accessLog = AccessLog()
    /// ``Configuration/logger`` with the store's path in its metadata.
    let logger: Logger
    /// Leases on running calls (nil when read-only).
    let leases: CallLeases?
    /// The commit journal (nil when read-only and none exists): see ``Configuration/Durability/normal``.
    let journal: CommitJournal?
    /// Whether a timed flush of the journal is on its way.
    let journalFlushScheduled = Atomic<Bool>(false)
    /// Flushes running aside, which ``close()`` waits for.
    let backgroundFlushes = BackgroundFlushes()
    /// Functions whose identity manifest this instance has written to data.mdb (see
    /// ``ensureManifests(of:)``).
    let manifestsWritten = Mutex<Set<ContentHash>>([])

    /// The store's layout on disk (docs/design/storage-v2.md §1). New stores are created with
    /// ``LMDBStore/schemaVersion`` unless ``Configuration/schema`` asks for another; a store keeps
    /// its schema until ``LMDBStore/migrate(at:configuration:progress:)`` upgrades it. A damaged
    /// schema-2 file cannot be rebuilt yet (`fsck --repair --rebuild` refuses it).
    public enum Schema: UInt32, Sendable, CaseIterable {
        /// Commits by hash, heads by fingerprint, history by fingerprint (`V1CommitLayout`).
        case v1 = 1
        /// A row per call holding its head, superseded rows, ids by hash (`V2CommitLayout`).
        case v2 = 2
    }

    /// The named sub-databases.
    struct Tables {
        let meta, tags, functions, sources, timeline, blobs, blobInfo, unreferenced: LMDBDatabase
        /// Schema 1's commit tables; in a schema-2 store, a handle LMDB refuses (EINVAL), so
        /// schema-1-only code run on it fails instead of reading or writing anything.
        let commits, heads, history: LMDBDatabase
        /// Commit hash → time of its last hit. Nil only in a read-only opening of a store written
        /// before the table existed (a writable opening creates it).
        let access: LMDBDatabase?
        /// Where commits and heads live.
        let layout: any CommitLayout
        /// Function rows decoded once (the layout joins one to every commit it reads).
        let functionDetails = FunctionDetailsCache()
        /// The tables a gc of everything empties: every table but `meta` and schema 2's function
        /// ids (which other processes may have cached).
        let contents: [LMDBDatabase]

        /// The tables both schemas have.
        static let sharedSpecs: [(name: String, dupSort: Bool)] = [
            ("meta", false),        // "schema" → version, "counters" → Counters
            ("tags", true),         // key\0value → time key
            ("functions", true),    // function name → time key
            ("sources", false),     // function hash → name, version, source (stored once)
            ("timeline", false),    // time key → nothing: commits in time order
            ("blobs", false),       // blob hash → encoding byte + bytes
            ("blob_info", false),   // blob hash → size, stored size, reference count
            ("unreferenced", false), // blob hash → nothing: blobs no commit references yet
        ]

        /// Schema 1's commit tables.
        static let v1Specs: [(name: String, dupSort: Bool)] = [
            ("commits", false),     // commit hash → commit record
            ("heads", false),       // fingerprint (64 B) → newest commit, as a hit needs it
            ("history", true),      // fingerprint → time key, every commit of the call
        ]

        /// Every table of a store of `schema`, but `access`.
        static func specs(_ schema: Schema) -> [(name: String, dupSort: Bool)] {
            sharedSpecs + (schema == .v1 ? v1Specs : V2CommitLayout.tableSpecs)
        }

        /// Schema 1's tables.
        static let specs = specs(.v1)

        static let accessSpec = (name: "access", dupSort: false)

        /// The flags LMDB records for each table of the store, as ``specs`` creates them.
        static let recordedFlags: [String: UInt16] = Dictionary(uniqueKeysWithValues: (specs(.v1) + V2CommitLayout.tableSpecs + [accessSpec]).map {
            ($0.name, $0.dupSort ? LMDBPageFormat.TreeFlag.dupSort : 0)
        })

        /// A handle every LMDB call refuses.
        private static let absent = LMDBDatabase(handle: .max)

        init(_ schema: Schema, _ handles: [LMDBDatabase], access: LMDBDatabase?) {
            var byName: [String: LMDBDatabase] = [:]
            for (spec, handle) in zip(Self.specs(schema), handles) { byName[spec.name] = handle }
            func table(_ name: String) -> LMDBDatabase { byName[name] ?? Self.absent }
            (meta, tags, functions, sources, timeline, blobs, blobInfo, unreferenced) =
                (table("meta"), table("tags"), table("functions"), table("sources"), table("timeline"), table("blobs"), table("blob_info"), table("unreferenced"))
            (commits, heads, history) = (table("commits"), table("heads"), table("history"))
            self.access = access
            switch schema {
            case .v1:
                layout = V1CommitLayout(commits: commits, heads: heads, history: history, sources: sources, functionDetails: functionDetails)
            case .v2:
                layout = V2CommitLayout(calls: table("calls"), superseded: table("superseded"), ids: table("ids"),
                                        functionIDs: table("function_ids"), functionHashes: table("function_hashes"), results: table("results"), sources: sources,
                                        functionDetails: functionDetails)
            }
            let kept: Set<String> = ["meta", "function_ids", "function_hashes"]
            contents = Self.specs(schema).filter { !kept.contains($0.name) }.compactMap { byName[$0.name] } + [access].compactMap { $0 }
        }
    }

    static let schemaKey = Array("schema".utf8)
    static let countersKey = Array("counters".utf8)
    /// Calls answered from the cache and calls that ran (``CallUsage``).
    static let usageKey = Array("usage".utf8)
    /// The `schema` record of `schema`: its version as a varint.
    static func schemaRecord(_ schema: Schema) -> [UInt8] {
        var version = ByteWriter(capacity: 4)
        version.appendVarint(UInt64(schema.rawValue))
        return version.bytes
    }

    /// Opens (or creates) the store in directory `path`.
    ///
    /// Throws `.notAStore` when `path` is a file, or a non-empty directory without a store,
    /// or (with `create == false`) has no store; `.newerSchema` when a newer cashet wrote it.
    public init(_ path: String, configuration: Configuration = Configuration()) throws(CashetError) {
        self.path = path
        self.configuration = configuration
        logger = configuration.logger.with("store", path)
        prehash = PrehashMemo(capacity: configuration.prehashCapacity)
        let mayCreate = configuration.create && !configuration.readOnly
        try Self.prepareDirectory(path, create: mayCreate, mode: configuration.permissions.directoryMode)
        let root = try StoreRoot(path)
        if configuration.readOnly { try Self.refuseEmptyDataFile(root, path: path) }
        files = BlobFiles(root: root, durable: configuration.durability != .noSync, permissions: configuration.permissions)
        var options = LMDBOptions()
        options.readOnly = configuration.readOnly
        options.noSync = configuration.durability == .noSync
        options.initialMapSize = configuration.initialMapSize
        options.maxMapSize = configuration.maxMapSize
        options.fileMode = configuration.permissions.fileMode
        let key = try SharedEnvironments.Key(directory: root.handle.descriptor, path: path)
        if configuration.migration == .onOpen && !configuration.readOnly,
           (try? SharedEnvironments.withEnvironment(key, directory: root.handle.descriptor, path: path, options: options, { env in try Self.checkSchema(env, path: path) })) == .v1 {
            // The peek's environment is closed again unless another opening in this process holds
            // it, in which case the migration finds the store in use and leaves it as it is.
            var settings = configuration
            settings.migration = .manual
            do {
                let report = try Self.migrate(at: path, configuration: settings, progress: configuration.migrationProgress)
                logger.notice("store upgraded to schema 2", metadata: ["commits": "\(report.commitsMigrated)", "blobs": "\(report.blobsMigrated)"])
            } catch {
                logger.warning("store left at schema 1; `cashet migrate` upgrades it", metadata: ["error": "\(error)"])
            }
        }
        do {
            (env, tables) = try SharedEnvironments.withEnvironment(key, directory: root.handle.descriptor, path: path, options: options) { env in
                if env.isReadOnly && !configuration.readOnly {
                    throw CashetError(.invalidArgument, "the store at \(path) is already open read-only in this process, and LMDB cannot open it twice; open it writable first, or close the read-only store")
                }
                let schema: Schema
                do {
                    schema = try Self.checkSchema(env, path: path)
                } catch let error as CashetError where error.code == .notAStore && mayCreate {
                    schema = try Self.initialize(env, schema: configuration.schema, path: path)
                    try root.handle.sync()   // data.mdb's name: a power cut must not lose the store
                }
                return (env, Tables(schema, try env.openDatabases(Tables.specs(schema), create: false),
                                    access: try Self.openAccessTable(env, create: !configuration.readOnly)))
            }
            leases = configuration.readOnly ? nil : CallLeases(root: root, permissions: configuration.permissions)
            journal = try JournalFile(root: root, writable: !configuration.readOnly, mode: configuration.permissions.fileMode).map(CommitJournal.init)
            // What a crashed process left in the journal is applied by the first change, listing
            // or check (after fsck has looked at data.mdb's structure); lookups see it meanwhile.
            if !configuration.readOnly { try files.prepareUnlessDamaged() }
        } catch {
            throw Self.wrap(error, "opening the store at \(path)")
        }
    }

    deinit {
        // The journal's commits are safe from a crash as they are; applied now, from a power cut
        // too. Pending hit times and counts are advisory.
        if !configuration.readOnly { flushOnRelease(level: .debug) }
    }

    /// The `access` table, created when missing unless read-only (then nil when missing).
    private static func openAccessTable(_ env: LMDBEnvironment, create: Bool) throws -> LMDBDatabase? {
        if create { return try env.openDatabases([Tables.accessSpec], create: true)[0] }
        do {
            return try env.openDatabases([Tables.accessSpec], create: false)[0]
        } catch let error as CashetError where error.code == .notAStore {
            return nil
        }
    }

    /// Read-only, an empty `data.mdb` is no store yet: LMDB would fail with EBADF (it initializes
    /// an empty file, which it cannot do read-only).
    static func refuseEmptyDataFile(_ root: StoreRoot, path: String) throws(CashetError) {
        guard let data = try root.handle.openFile("data.mdb", flags: O_RDONLY | O_NONBLOCK), try data.regularFileSize() == 0 else { return }
        throw CashetError(.notAStore, "\(path)/data.mdb is empty: the store was interrupted while being created (or, with noSync, a power cut lost its first write); it holds no results, and the next program that records to it creates it again")
    }

    /// The files LMDB opens by name; they must be regular files (LMDB would follow a link).
    static let lmdbFiles = ["data.mdb", "lock.mdb"]

    /// Checks that `path` holds a store or may get one, creating the directory when allowed.
    static func prepareDirectory(_ path: String, create: Bool, mode: mode_t, looks: Int = 1) throws(CashetError) {
        if let root = try DirectoryHandle.openRoot(path) {
            for name in lmdbFiles {
                switch try root.kind(of: name) {
                case nil, .regularFile?: continue
                case .symbolicLink?:
                    throw CashetError(.corruptData, "\(root.child(name)) is a symbolic link; cashet never follows links inside its store. Put the real file back (or, for lock.mdb, which holds no data, remove the link)")
                case .directory?, .other?:
                    throw CashetError(.corruptData, "\(root.child(name)) is not a regular file; the store is damaged")
                }
            }
            if try root.kind(of: "data.mdb") != nil { return }
            let entries = try root.entries()
            guard create else { throw CashetError(.notAStore, "\(path) is not a cashet store (it has no data.mdb)") }
            // data.mdb may appear between the two looks: another process creating this store.
            guard entries.allSatisfy({ ["data.mdb", "lock.mdb", "objects", "leases", JournalFile.name].contains($0) }) else {
                throw CashetError(.notAStore, "\(path) is a non-empty directory without a cashet store; refusing to create one there")
            }
            return
        }
        switch FileSystem.kind(of: path) {
        case .missing: break
        case .directory:
            // Another process made it between the two looks: look again.
            guard looks < 8 else { throw CashetError(.storage, "\(path) kept appearing and disappearing while the store was being opened") }
            return try prepareDirectory(path, create: create, mode: mode, looks: looks + 1)
        case .other:
            throw CashetError(.notAStore, "\(path) is a file, not a cashet store directory")
        }
        guard create else { throw CashetError(.notAStore, "no cashet store at \(path) (the directory does not exist)") }
        // A relative path of one component (the default `.cashet`) has no parent to create.
        let parent = FileSystem.parent(of: path)
        do {
            if !parent.isEmpty { try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) }
        } catch {
            throw CashetError(.storage, "cannot create the parent directory of the store \(path)", underlying: error)
        }
        try FileSystem.makeDirectory(path, mode: mode)   // like every other directory of the store: mode less the umask
        try FileSystem.syncDirectory(parent.isEmpty ? "." : parent)
    }

    /// Creates the tables, the schema version and the counters in one write transaction, each only
    /// when missing: processes opening a new store at the same moment each see nothing or all of
    /// it, and the last one overwrites nothing (so the schema is the first creator's). An LMDB
    /// file holding other tables is refused. Returns the store's schema.
    private static func initialize(_ env: LMDBEnvironment, schema: Schema, path: String) throws -> Schema {
        try env.write { txn in
            if try txn.hasDatabase("meta") { return try readSchema(txn, path: path) }
            if try txn.namedDatabaseCount() > 0 {
                throw CashetError(.notAStore, "\(path) holds an LMDB file with other tables; it is not a cashet store")
            }
            let handles = try txn.createDatabases(Tables.specs(schema))
            try txn.put(handles[0], Self.schemaKey, schemaRecord(schema), noOverwrite: true)
            try txn.put(handles[0], Self.countersKey, StoreRecords.Counters().bytes, noOverwrite: true)
            try txn.put(handles[0], Self.tallyMarkerKey, [1], noOverwrite: true)
            return schema
        }
    }

    /// Reads the schema version before anything is created or written.
    static func checkSchema(_ env: LMDBEnvironment, path: String) throws -> Schema {
        _ = try env.openDatabases([("meta", false)], create: false)
        return try env.read { txn in try readSchema(txn, path: path) }
    }

    /// The schema the `meta` table records.
    private static func readSchema(_ txn: LMDBTransaction, path: String) throws -> Schema {
        let meta = try txn.openExisting("meta")
        guard let raw = try txn.get(meta, schemaKey) else {
            // Counters without a version: a cashet store whose schema key was damaged. Schema 2's
            // own tables say which it is; fsck reports it, a repair mends it.
            if try txn.get(meta, countersKey) != nil { return try txn.hasDatabase("calls") ? .v2 : .v1 }
            throw CashetError(.notAStore, "\(path) has an LMDB file but no cashet schema version; it is not a cashet store")
        }
        var reader = ByteReader(raw, what: "schema version")
        let version = try reader.readVarint()
        guard version <= UInt64(newestSchemaVersion), let schema = Schema(rawValue: UInt32(version)) else {
            throw CashetError(.newerSchema, "the store at \(path) has schema version \(version), but this cashet reads up to \(newestSchemaVersion); upgrade cashet")
        }
        return schema
    }

    /// Schema 1's layout, for the checks and repairs that do not know schema 2 yet.
    func v1Layout() throws(CashetError) -> V1CommitLayout {
        guard let layout = tables.layout as? V1CommitLayout else {
            throw CashetError(.unavailable, "the store at \(path) has schema 2, which cashet cannot check or repair yet")
        }
        return layout
    }

    /// Turns any error from the storage layer into a `CashetError` naming what was being done.
    static func wrap(_ error: any Error, _ action: String) -> CashetError {
        // Inside the storage layer a hash that does not parse was read from disk: damage, not
        // the caller's typo (which is parsed, and reported, before any transaction).
        if var error = error as? CashetError {
            if error.code == .invalidHash {
                error.message = "\(action) met damaged data: \(error.message) (`cashet fsck --repair` mends it)"
                error.code = .corruptData
            }
            return error
        }
        return CashetError(.storage, "\(action) failed", underlying: error)
    }

    /// Runs `body`, mapping any error to a `CashetError` that names `action`. Always inlined:
    /// left generic, every read paid for unspecialized tuple copies (+110 ns per blob load).
    @inline(__always)
    func storageAction<T>(_ action: @autoclosure () -> String, _ body: () throws -> T) throws(CashetError) -> T {
        do { return try body() } catch { throw Self.wrap(error, action()) }
    }

    /// Runs a read transaction, mapping errors to `CashetError`.
    func reading<T>(_ action: @autoclosure () -> String, _ body: (LMDBTransaction) throws -> T) throws(CashetError) -> T {
        try storageAction(action()) { try env.read(body) }
    }

    /// Runs a write transaction, mapping errors to `CashetError`. The environment may be shared
    /// with a store opened differently in this process (see ``SharedEnvironments``): this store's
    /// own read-only and durability settings are enforced here.
    /// Every change but a journaled commit comes here: it holds the journal's lock and applies
    /// what the journal holds first, so changes reach LMDB in the order they were acknowledged.
    func writing<T>(_ action: @autoclosure () -> String, _ body: (LMDBTransaction) throws -> T) throws(CashetError) -> T {
        if configuration.readOnly {
            throw CashetError(.storage, "the store at \(path) is open read-only; cannot write")
        }
        guard let journal else { return try writingDirectly(action(), synced: false, body) }
        return try journal.exclusively { (session: inout CommitJournal.Session) throws(CashetError) -> T in
            try applyJournal(&session)
            return try writingDirectly(action(), synced: false, body)
        }
    }

    /// One LMDB write transaction, synced when this store is durable (or `synced`) even if the
    /// shared environment is not. Callers hold the journal's lock (see ``writing(_:_:)``).
    func writingDirectly<T>(_ action: @autoclosure () -> String, synced: Bool, _ body: (LMDBTransaction) throws -> T) throws(CashetError) -> T {
        try storageAction(action()) {
            let result = try env.write(body)
            if (synced || configuration.durability != .noSync) && env.isNoSync { try env.sync() }
            return result
        }
    }

    /// Applies the journal and writes pending hit times; nothing else needs closing.
    /// Waits for the flushes running aside and starts no more, then applies the journal and
    /// writes the access log. Once it returns, a store its owner lets go of is released at once
    /// (so this process can `rebuild`, `migrate` or `compact` it). A store used after `close()`
    /// still works; its journal and hit times are then written when it is released.
    public nonisolated(nonsending) func close() async {
        await backgroundFlushes.closeAndWait()
        if !configuration.readOnly { flushOnRelease(level: .warning) }
    }

    /// Applies the journal and writes the access log as the store is released, logging a
    /// failure at `level` (the journal's commits stay safe in it; the next opening applies them).
    private func flushOnRelease(level: Logger.Level) {
        do { try flushJournal() } catch { logger.log(level: level, "journal not applied on close", metadata: ["error": "\(error)"]) }
        guard !accessLog.isEmpty else { return }
        do { try flushAccessLog() } catch { logger.log(level: level, "hit times and call counts not written on close", metadata: ["error": "\(error)"]) }
    }
}
