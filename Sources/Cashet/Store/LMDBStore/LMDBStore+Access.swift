import Foundation

/// Last-use times for least-recently-used eviction (see ``AccessLog``).
extension LMDBStore {
    /// Writes the pending hit times in a transaction of their own.
    func flushAccessLog() throws(CashetError) {
        let pending = accessLog.drain()
        guard !pending.isEmpty else { return }
        try writing("recording the times of \(pending.count) cache hit(s)") { txn in try writeAccessTimes(pending, txn) }
    }

    /// Records hit times of commits that still exist (a commit removed since its hit gets no row).
    func writeAccessTimes(_ times: [ContentHash: Int64], _ txn: LMDBTransaction) throws {
        guard let access = tables.access, !times.isEmpty else { return }
        for (commit, nanoseconds) in times {
            guard try tables.layout.contains(commit, txn) else { continue }
            try txn.put(access, commit.bytes, StoreRecords.timeBytes(CanonicalCommit.date(nanoseconds: nanoseconds)))
        }
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
