/// The one error type cashet throws.
///
/// Each error has a ``Code`` you can match on and a message that names the hash,
/// path or argument at fault:
///
/// ```swift
/// do {
///     let commit = try await client.show("abc1")
/// } catch let error as CashetError where error.code == .ambiguousHash {
///     print(error.message)   // lists the candidates
/// }
/// ```
public struct CashetError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. New codes may be added without breaking `switch`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case notFound, ambiguousHash, invalidHash, notAStore, newerSchema
            case storage, outOfSpace, permissionDenied, corruptData, serialization, invalidArgument, executionFailed, damagedArchive, timedOut, cancelled
            case limitExceeded, unavailable
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// No commit or blob matches the given hash or prefix.
        public static let notFound = Code(.notFound)
        /// A hash prefix matches more than one object; the message lists the candidates.
        public static let ambiguousHash = Code(.ambiguousHash)
        /// A hash or hash prefix is not valid hexadecimal or is too short.
        public static let invalidHash = Code(.invalidHash)
        /// The path does not hold a cashet store (or is not a directory).
        public static let notAStore = Code(.notAStore)
        /// The store was written by a newer cashet whose schema this version cannot read.
        public static let newerSchema = Code(.newerSchema)
        /// The storage engine (LMDB, the file system) reported an error.
        public static let storage = Code(.storage)
        /// No room to write: the disk is full, a quota or file-size limit (`RLIMIT_FSIZE`) was hit, or
        /// the store's memory map reached ``LMDBStore/Configuration/maxMapSize``. The write was
        /// abandoned whole; what was committed before is intact.
        public static let outOfSpace = Code(.outOfSpace)
        /// The operating system refused access to a store file or directory (permissions, a
        /// read-only file system). Open the store read-only to read it.
        public static let permissionDenied = Code(.permissionDenied)
        /// Stored bytes do not decode as what they claim to be.
        public static let corruptData = Code(.corruptData)
        /// A value could not be encoded or decoded by the serializer.
        public static let serialization = Code(.serialization)
        /// An argument passed to cashet is invalid.
        public static let invalidArgument = Code(.invalidArgument)
        /// The cached function threw; the failure was recorded as a failed commit.
        public static let executionFailed = Code(.executionFailed)
        /// The cached function ran longer than its `timeout`; the attempt was cancelled and, once
        /// no retry was left, recorded as a failed commit.
        public static let timedOut = Code(.timedOut)
        /// The caller's task was cancelled while the call waited or ran; nothing was recorded
        /// and no lease is left behind.
        public static let cancelled = Code(.cancelled)
        /// A file given to import is not a cashet archive, or is truncated or damaged; nothing was imported.
        public static let damagedArchive = Code(.damagedArchive)
        /// An input is larger than a configured limit (an imported result above the `maxResultSize`
        /// of ``Client/importArchive(from:maxResultSize:progress:)``); nothing was changed.
        public static let limitExceeded = Code(.limitExceeded)
        /// A network store's server could not be reached, or kept failing, for longer than the
        /// store's retry budget (`PostgresStore.Configuration.retryBudget` in CashetPostgres).
        /// A read changed nothing; a write either was applied whole or not at all, and retrying
        /// it is safe.
        public static let unavailable = Code(.unavailable)

        public var description: String {
            switch base {
            case .notFound: "not found"
            case .ambiguousHash: "ambiguous hash"
            case .invalidHash: "invalid hash"
            case .notAStore: "not a store"
            case .newerSchema: "newer schema"
            case .storage: "storage error"
            case .outOfSpace: "out of space"
            case .permissionDenied: "permission denied"
            case .corruptData: "corrupt data"
            case .serialization: "serialization error"
            case .invalidArgument: "invalid argument"
            case .executionFailed: "execution failed"
            case .damagedArchive: "damaged archive"
            case .timedOut: "timed out"
            case .cancelled: "cancelled"
            case .limitExceeded: "limit exceeded"
            case .unavailable: "store unavailable"
            }
        }
    }

    /// What kind of failure this is.
    public var code: Code
    /// A sentence naming what failed and the hash, path or argument involved.
    public var message: String
    /// The error that caused this one, if any (a `DecodingError`, the function's own error, …).
    public var underlying: (any Error)?

    /// Creates an error.
    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        if let underlying { return "\(code): \(message) (\(underlying))" }
        return "\(code): \(message)"
    }
}
