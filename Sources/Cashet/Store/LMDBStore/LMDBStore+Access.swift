import Foundation

/// Last-use times for least-recently-used eviction (see ``AccessLog``).
extension LMDBStore {
    /// Writes the pending hit times and call counts in a transaction of their own.
    func flushAccessLog() throws(CashetError) {
        try withPendingAccess { pending throws(CashetError) in
            guard !pending.isEmpty else { return }
            try writing("recording the times of \(pending.times.count) cache hit(s)") { txn in try writeAccessLog(pending, txn) }
        }
    }

    /// Runs `write` on what the access log holds, putting it back when the write fails (so a
    /// failed flush loses neither hit times nor call counts).
    func withPendingAccess<T>(_ write: (AccessLog.Pending) throws(CashetError) -> T) throws(CashetError) -> T {
        let pending = accessLog.drain()
        do {
            return try write(pending)
        } catch {
            accessLog.restore(pending)
            throw error
        }
    }

    /// Records hit times of commits that still exist (a commit removed since its hit gets no
    /// row), and adds the call counts to the `usage` record.
    func writeAccessLog(_ pending: AccessLog.Pending, _ txn: LMDBTransaction) throws {
        if pending.hits > 0 || pending.misses > 0 {
            // A damaged record starts again from zero: counts are statistics, and fsck said so.
            var usage = try readUsage(txn) ?? CallUsage()
            usage.hits &+= pending.hits
            usage.misses &+= pending.misses
            try txn.put(tables.meta, Self.usageKey, usage.bytes)
        }
        guard let access = tables.access, !pending.times.isEmpty else { return }
        for (commit, nanoseconds) in pending.times {
            guard try tables.layout.contains(commit, txn) else { continue }
            try txn.put(access, commit.bytes, StoreRecords.timeBytes(CanonicalCommit.date(nanoseconds: nanoseconds)))
        }
    }

    /// The recorded call counts: zero when none are recorded, nil when the record is damaged
    /// (`fsck` reports it; `--repair` starts the counts again).
    func readUsage(_ txn: LMDBTransaction) throws -> CallUsage? {
        guard let bytes = try txn.get(tables.meta, Self.usageKey) else { return CallUsage() }
        return CallUsage(bytes)
    }

    /// When `commit` was last used (its last recorded hit, or its creation), as a number that
    /// orders like time. `createdAt` is the commit's 8-byte time key prefix.
    func lastUsed(_ commit: ContentHash, createdAt: [UInt8], _ txn: LMDBTransaction) throws -> UInt64 {
        let created = Self.timeOrder(createdAt)
        guard let access = tables.access, let hit = try txn.get(access, commit.bytes), hit.count == 8 else { return created }
        return max(created, Self.timeOrder(hit))
    }

    /// 8 big-endian time bytes (``StoreRecords/timeBytes(_:)``) as a number with the same order.
    private static func timeOrder(_ bytes: [UInt8]) -> UInt64 {
        bytes.bigEndianInteger(UInt64.self)
    }
}

/// Calls answered from the cache and calls that ran, as the `usage` record of the `meta` table
/// keeps them: two big-endian `UInt64`s and the XXH3-64 of those 16 bytes (so a changed byte is
/// found by `fsck`, not shown by `stats`).
struct CallUsage: Equatable {
    var hits: UInt64 = 0
    var misses: UInt64 = 0

    init() {}

    /// Nil for a record of another size or whose checksum does not match.
    init?(_ bytes: [UInt8]) {
        guard bytes.count == 24, XXHash.hash64(bytes, 0..<16, seed: 0) == bytes[16..<24].bigEndianInteger(UInt64.self) else { return nil }
        hits = bytes[0..<8].bigEndianInteger(UInt64.self)
        misses = bytes[8..<16].bigEndianInteger(UInt64.self)
    }

    var bytes: [UInt8] {
        var writer = ByteWriter(capacity: 24)
        writer.appendFixedBigEndian(hits)
        writer.appendFixedBigEndian(misses)
        writer.appendFixedBigEndian(XXHash.hash64(writer.bytes, 0..<16, seed: 0))
        return writer.bytes
    }
}
