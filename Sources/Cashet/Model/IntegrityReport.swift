/// What a store check (`cashet fsck`) found, and what a repair did.
public struct IntegrityReport: Hashable, Sendable, Codable {
    /// One kind of inconsistency.
    public enum Kind: String, Hashable, Sendable, Codable, CaseIterable {
        /// A blob's bytes do not match its SHA-256, size or checksum, or do not decode.
        case damagedBlob = "damaged-blob"
        /// A blob's record names a file in `objects/` that is not there.
        case missingBlobFile = "missing-blob-file"
        /// A commit cannot be decoded.
        case damagedCommit = "damaged-commit"
        /// A commit's output names a blob the store does not have.
        case danglingReference = "dangling-reference"
        /// A call's head is missing, or names a commit the store does not have (or one of
        /// another call).
        case danglingHead = "dangling-head"
        /// A commit lacks one of its rows in the time, history, function or tag indexes, so
        /// `log` or `history` would silently leave it out.
        case missingIndexEntry = "missing-index-entry"
        /// An index row names a commit that is gone, or one whose own rows differ (a damaged key).
        case staleIndexEntry = "stale-index-entry"
        /// A blob's reference count differs from the number of commits that use it.
        case wrongReferenceCount = "wrong-reference-count"
        /// The store-wide counters behind `stats` differ from the contents.
        case wrongCounters = "wrong-counters"
        /// The record of the hits and misses clients counted does not match its checksum.
        case damagedUsage = "damaged-usage"
        /// A file in `objects/` that no blob record names (left by a crash): garbage, not damage.
        case orphanFile = "orphan-file"
        /// A temporary file of a write whose process is gone: garbage, not damage.
        case abandonedTemporaryFile = "abandoned-temporary-file"
        /// A symbolic link inside the store (planted, or left by a copy): damage. cashet never
        /// follows one; a repair removes the link itself, never what it points to.
        case symbolicLink = "symbolic-link"
        /// A result that could not be read (permissions, an I/O error, too many open files), so
        /// could not be checked. Not damage: a repair never removes it; fix the cause and check again.
        case unreadable = "unreadable"
        /// `data.mdb`'s pages are damaged (a pointer out of the file, a page that is not what its
        /// place calls for, keys out of order, counts that disagree): LMDB cannot be trusted to
        /// read it. ``LMDBStore/rebuild(at:configuration:)`` (`cashet fsck --repair`) rebuilds the file from
        /// every record still readable.
        case damagedStructure = "damaged-structure"
        /// The `meta` table has the store's counters but not its schema version (a damaged key):
        /// the store is read as schema 1, the only one written so far, and a repair writes the
        /// record back.
        case missingSchemaRecord = "missing-schema-record"
        /// A function's row (name, version, source) does not decode: its commits cannot be
        /// shown. A repair writes it again from one of its commits, without the source (lost).
        case damagedFunction = "damaged-function"

        /// True when results or metadata cannot be trusted; false for leftovers that only take
        /// space and for what could not be read.
        public var isDamage: Bool { ![.orphanFile, .abandonedTemporaryFile, .unreadable].contains(self) }
    }

    /// One thing found.
    public struct Problem: Hashable, Sendable, Codable {
        /// What is wrong.
        public var kind: Kind
        /// The hash or path concerned.
        public var subject: String
        /// A sentence with the specifics.
        public var detail: String

        /// Creates a problem.
        public init(kind: Kind, subject: String, detail: String) {
            self.kind = kind
            self.subject = subject
            self.detail = detail
        }
    }

    /// Commits read.
    public var commitsChecked = 0
    /// Blobs whose bytes were read and hashed.
    public var blobsChecked = 0
    /// Bytes hashed while verifying blobs.
    public var bytesVerified = 0
    /// Files found in `objects/`.
    public var filesChecked = 0
    /// Everything found, damage and garbage.
    public var problems: [Problem] = []
    /// What a repair changed (empty when not repairing).
    public var repairs: [String] = []
    /// Damage still present after a repair (re-checked); empty when not repairing or when all was fixed.
    public var unrepaired: [Problem] = []

    /// Creates an empty report.
    public init() {}

    /// True when the check found damage (not only garbage).
    public var foundDamage: Bool { problems.contains { $0.kind.isDamage } }

    /// True when some result could not be read, so the check is incomplete (`cashet fsck` exits 4).
    public var foundUnreadable: Bool { problems.contains { $0.kind == .unreadable } }
}
