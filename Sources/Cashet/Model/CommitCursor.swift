import Foundation

/// Where a page of ``Client/log(_:)`` ended: the next page lists the commits that come after
/// this one in the listing's order (newest first: by creation time, then by hash, both
/// descending). A cursor names a position, not a row, so it stays valid when its commit is
/// removed, and paging never rescans what earlier pages listed.
///
/// Its text form, `<nanoseconds since 1970>-<commit hash>`, is what `cashet serve` hands out
/// as `next_cursor`.
public struct CommitCursor: Hashable, Sendable, LosslessStringConvertible {
    /// The creation time of the last commit listed, in nanoseconds since 1970 (as records store it).
    public let createdAtNanoseconds: Int64
    /// The hash of the last commit listed.
    public let hash: ContentHash

    /// The cursor just after `commit`.
    public init(after commit: Commit) {
        createdAtNanoseconds = CanonicalCommit.nanoseconds(commit.createdAt)
        hash = commit.hash
    }

    /// Reads the text form; nil when `description` is not one.
    public init?(_ description: String) {
        let parts = description.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let nanoseconds = Int64(parts[0]), let hash = try? ContentHash(hex: String(parts[1])) else { return nil }
        (createdAtNanoseconds, self.hash) = (nanoseconds, hash)
    }

    /// Reads the text form, or throws `.invalidArgument` naming what is wrong.
    public init(parsing text: String) throws(CashetError) {
        guard let cursor = CommitCursor(text) else {
            throw CashetError(.invalidArgument, "'\(text)' is not a log cursor: expected <nanoseconds>-<64 hex characters>, as a page's next_cursor gives it")
        }
        self = cursor
    }

    /// The text form: `<nanoseconds since 1970>-<commit hash>`.
    public var description: String { "\(createdAtNanoseconds)-\(hash.hex)" }

    /// Whether `commit` comes after the cursor in the listing (is older, or as old with a
    /// smaller hash).
    package func admits(_ commit: Commit) -> Bool {
        Self.precedes((createdAtNanoseconds, hash), (CanonicalCommit.nanoseconds(commit.createdAt), commit.hash))
    }

    /// The listing order of `log`, on (creation nanoseconds, hash): newer first, and among
    /// commits of the same nanosecond, the greater hash first (the order of the stores' time
    /// indexes).
    fileprivate static func precedes(_ a: (Int64, ContentHash), _ b: (Int64, ContentHash)) -> Bool {
        a.0 != b.0 ? a.0 > b.0 : b.1.bytes.lexicographicallyPrecedes(a.1.bytes)
    }
}

extension Commit {
    /// Whether `a` comes before `b` in the listing of `log` (``CommitCursor``'s order).
    package static func listedBefore(_ a: Commit, _ b: Commit) -> Bool {
        CommitCursor.precedes((CanonicalCommit.nanoseconds(a.createdAt), a.hash), (CanonicalCommit.nanoseconds(b.createdAt), b.hash))
    }
}
