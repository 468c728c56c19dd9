import Foundation

/// The tallies behind ``StoreBreakdown``: rows of the `meta` table, one per function name
/// (`tally/f/<name>`) and one per creation day (`tally/d/<day>`, big-endian so days sort), each
/// 16 bytes (commits, bytes; little-endian). Every write transaction adds its ``TallyDelta`` in
/// ``withWriteState(_:access:_:)``; a row whose commits reach 0 is deleted, so the rows stay as
/// many as the function names and days the store holds.
///
/// A store made before tallies has no `tally` marker row: writes leave tallies alone there
/// (they would be partial), and `fsck --repair` counts them once and sets the marker. An
/// earlier release writing to a store that has them leaves them behind the commits: reads then
/// see their total differ from the counters' and report them untracked, and `fsck` reports
/// them wrong until `--repair` counts them again.
extension LMDBStore {
    static let tallyMarkerKey = Array("tally".utf8)
    /// What every tally row's key starts with (the marker's does not).
    private static let tallyRowPrefix = Array("tally/".utf8)
    private static let functionTallyPrefix = Array("tally/f/".utf8)
    private static let dayTallyPrefix = Array("tally/d/".utf8)

    /// Whether this file keeps tallies.
    func keepsTallies(_ txn: LMDBTransaction) throws -> Bool {
        try txn.get(tables.meta, Self.tallyMarkerKey) != nil
    }

    /// Adds `delta` to the tally rows.
    func applyTallies(_ delta: TallyDelta, _ txn: LMDBTransaction) throws {
        for (name, change) in delta.functions where change != TallyDelta.Change() {
            try add(change, at: Self.functionTallyPrefix + Array(name.utf8), txn)
        }
        for (day, change) in delta.days where change != TallyDelta.Change() {
            try add(change, at: Self.dayTallyKey(day), txn)
        }
    }

    private func add(_ change: TallyDelta.Change, at key: [UInt8], _ txn: LMDBTransaction) throws {
        let total = (try txn.get(tables.meta, key).map(Self.decodeTally) ?? TallyDelta.Change()) + change
        if total.commits <= 0 {
            _ = try txn.delete(tables.meta, key)
        } else {
            _ = try txn.put(tables.meta, key, Self.encodeTally(total))
        }
    }

    /// Replaces every tally row with `counted` and sets the marker (`fsck --repair`).
    func rewriteTallies(_ counted: TallyDelta, _ txn: LMDBTransaction) throws {
        var stale: [[UInt8]] = []
        try txn.forEach(tables.meta, withPrefix: Self.tallyRowPrefix) { key, _ in stale.append(key) }
        for key in stale { _ = try txn.delete(tables.meta, key) }
        _ = try txn.put(tables.meta, Self.tallyMarkerKey, [1])
        try applyTallies(counted, txn)
    }

    /// The tally rows as a delta from nothing; nil when the file keeps none. A row that does not
    /// decode is `.corruptData`.
    func readTallies(_ txn: LMDBTransaction) throws -> TallyDelta? {
        guard try keepsTallies(txn) else { return nil }
        var tallies = TallyDelta()
        try txn.forEach(tables.meta, withPrefix: Self.dayTallyPrefix) { key, value in
            guard key.count == Self.dayTallyPrefix.count + 8 else { throw CashetError(.corruptData, "a day tally row of \(path) has a \(key.count)-byte key") }
            var reader = ByteReader(Array(key.dropFirst(Self.dayTallyPrefix.count)), what: "day tally key")
            tallies.days[Int64(bitPattern: try reader.readFixedBigEndian() ^ (1 << 63))] = try Self.decodeTally(value)
        }
        try txn.forEach(tables.meta, withPrefix: Self.functionTallyPrefix) { key, value in
            tallies.functions[String(decoding: key.dropFirst(Self.functionTallyPrefix.count), as: UTF8.self)] = try Self.decodeTally(value)
        }
        return tallies
    }

    public nonisolated(nonsending) func breakdown(days: Int) async throws(CashetError) -> StoreBreakdown {
        let journaled = try journaledForListing()
        return try reading("reading the store's tallies") { txn in
            guard let stored = try readTallies(txn) else { return .untracked }
            // A release that knows no tallies may have written since (it keeps the counters but
            // not them): tallies that disagree with the counters are not shown as true.
            guard stored.functions.values.reduce(0, { $0 + $1.commits }) == (try readCounters(txn)).commits else { return .untracked }
            var pending = TallyDelta()
            for commit in try unapplied(journaled, txn) { pending.count(commit, +1) }
            return StoreBreakdown.assembled(stored.adding(pending), keepingDays: days, isTracked: true)
        }
    }

    private static func dayTallyKey(_ day: Int64) -> [UInt8] {
        var writer = ByteWriter(capacity: 8)
        writer.appendFixedBigEndian(UInt64(bitPattern: day) ^ (1 << 63))
        return dayTallyPrefix + writer.bytes
    }

    private static func encodeTally(_ change: TallyDelta.Change) -> [UInt8] {
        var writer = ByteWriter(capacity: 16)
        writer.appendFixedLittleEndian(UInt64(bitPattern: Int64(change.commits)))
        writer.appendFixedLittleEndian(UInt64(bitPattern: Int64(change.bytes)))
        return writer.bytes
    }

    private static func decodeTally(_ bytes: [UInt8]) throws(CashetError) -> TallyDelta.Change {
        guard bytes.count == 16 else { throw CashetError(.corruptData, "a tally row has \(bytes.count) bytes, expected 16") }
        var reader = ByteReader(bytes, what: "tally row")
        return TallyDelta.Change(commits: Int(Int64(bitPattern: try reader.readFixedLittleEndian())),
                                 bytes: Int(Int64(bitPattern: try reader.readFixedLittleEndian())))
    }
}
