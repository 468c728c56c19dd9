@testable import Cashet
import Foundation
import Testing

/// The journal's format keeps exactly the records written whole, in order, in the current
/// generation: never a torn tail, a damaged record, or a record of an earlier generation.
@Suite("Journal format")
struct JournalFormatTests {
    /// A journal of `count` records with payloads of varied sizes, and the payloads.
    private static func journal(_ count: Int, header: JournalFormat.Header = .init(salt: 0x1234_5678_9ABC, baseSequence: 41)) -> (bytes: [UInt8], payloads: [[UInt8]]) {
        var bytes = JournalFormat.encode(header)
        var chain = header.salt
        var payloads: [[UInt8]] = []
        for index in 0..<count {
            let payload = (0..<(index * 37 % 300)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
            let (record, checksum) = JournalFormat.encodeRecord(payload, sequence: header.baseSequence + UInt64(index), previousChecksum: chain)
            bytes += record
            chain = checksum
            payloads.append(payload)
        }
        return (bytes, payloads)
    }

    private static func payloads(_ scan: JournalFormat.Scan, in bytes: [UInt8]) -> [[UInt8]] {
        scan.records.map { Array(bytes[$0.payload]) }
    }

    @Test("a whole journal scans back to every record, in order, and says where the next goes")
    func wholeJournal() {
        let (bytes, payloads) = Self.journal(50)
        let scan = JournalFormat.scan(bytes)
        #expect(Self.payloads(scan, in: bytes) == payloads)
        #expect(scan.records.map(\.sequence) == Array(41..<91))
        #expect(scan.end == bytes.count && scan.nextSequence == 91)
        // Appending at `end` on the returned chain continues the journal.
        let (next, _) = JournalFormat.encodeRecord([7, 7], sequence: scan.nextSequence, previousChecksum: scan.lastChecksum)
        #expect(JournalFormat.scan(bytes + next).records.count == 51)
    }

    @Test("cut at every byte, a journal keeps exactly the records that end before the cut")
    func tornTails() {
        let (bytes, payloads) = Self.journal(12)
        let ends = JournalFormat.scan(bytes).records.map(\.payload.upperBound)
        for cut in 0...bytes.count {
            let scan = JournalFormat.scan(Array(bytes.prefix(cut)))
            let whole = ends.filter { $0 <= cut }.count
            #expect(Self.payloads(scan, in: bytes) == Array(payloads.prefix(whole)), "cut at \(cut)")
            #expect(scan.end == (whole == 0 ? (cut >= JournalFormat.headerSize ? JournalFormat.headerSize : 0) : ends[whole - 1]))
        }
    }

    @Test("a changed byte anywhere in a record ends the journal just before that record")
    func damagedRecords() {
        let (bytes, payloads) = Self.journal(8)
        let records = JournalFormat.scan(bytes).records
        for (index, record) in records.enumerated() {
            let start = record.payload.lowerBound - JournalFormat.recordHeaderSize
            for offset in stride(from: start, to: record.payload.upperBound, by: 3) {
                var damaged = bytes
                damaged[offset] ^= 0x40
                #expect(Self.payloads(JournalFormat.scan(damaged), in: damaged) == Array(payloads.prefix(index)), "byte \(offset) of record \(index)")
            }
        }
        var header = bytes
        header[20] ^= 1
        #expect(JournalFormat.scan(header).header == nil && JournalFormat.scan(header).records.isEmpty)
    }

    @Test("records of an earlier generation left past the end never chain on, even with the right sequence numbers")
    func earlierGenerations() {
        let (old, _) = Self.journal(20, header: .init(salt: 1, baseSequence: 100))
        // The journal is reset after a flush: a new salt, the next base sequence, few records.
        let (fresh, payloads) = Self.journal(3, header: .init(salt: 2, baseSequence: 100))
        let reused = fresh + old.dropFirst(fresh.count)
        let scan = JournalFormat.scan(reused)
        #expect(Self.payloads(scan, in: reused) == payloads && scan.end == fresh.count)
        // A record whose sequence skips one is not taken either.
        let (skipped, _) = JournalFormat.encodeRecord([1], sequence: scan.nextSequence + 1, previousChecksum: scan.lastChecksum)
        #expect(JournalFormat.scan(fresh + skipped).records.count == 3)
    }

    @Test("a length beyond any record is damage, not an allocation")
    func impossibleLength() {
        let (bytes, _) = Self.journal(2)
        var huge = bytes
        let second = JournalFormat.scan(bytes).records[1].payload.lowerBound - JournalFormat.recordHeaderSize
        huge.replaceSubrange(second + 12..<second + 16, with: [0xFF, 0xFF, 0xFF, 0x7F])
        #expect(JournalFormat.scan(huge).records.count == 1)
    }
}
