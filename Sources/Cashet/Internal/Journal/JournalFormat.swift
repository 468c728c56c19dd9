/// The bytes of the commit journal that will stand in front of LMDB (docs/design/storage-v2.md
/// §2.3): a header, then records, each chained to the one before it by its checksum.
///
/// ```
/// first page (4 KiB)  header: "CJNL" u32 · version u32 · salt u64 · base sequence u64 · zeros · XXH3-64 of bytes 0..<56 at 56
///                     hints at 64..<80 (salt u64, end u64; see ``JournalHints``), then zeros
/// record         checksum u64 · "CREC" u32 · payload length u32 · sequence u64 · payload
///                checksum = XXH3-64(bytes from "CREC" to the payload's end, seed: the previous
///                record's checksum, or the header's salt for the first)
/// ```
/// All integers little-endian. Appends are never synced, so after a power cut the file may end in
/// a torn record, or in bytes of an earlier generation (the journal is reused after each flush,
/// with a new salt and base sequence). ``scan(_:)`` keeps exactly the records that were written
/// whole, in order, in this generation: a record counts only when its magic, length, sequence
/// (base, base + 1, …) and chained checksum all hold, and nothing after the first that fails does.
enum JournalFormat {
    /// The first page: the header, the shared hints, zeros. Records start after it, and the file
    /// is never cut shorter (every process maps the page).
    static let headerSize = 4096
    private static let headerBytes = 64
    static let recordHeaderSize = 24
    /// One commit's payload (its puts, with a result below the inline limit) is far smaller; a
    /// length beyond this is damage, never an allocation.
    static let maximumPayload = 16 << 20

    private static let fileMagic: UInt32 = 0x4C4E_4A43   // "CJNL"
    private static let recordMagic: UInt32 = 0x4345_5243 // "CREC"
    private static let version: UInt32 = 1

    /// What identifies one generation of the journal.
    struct Header: Equatable, Sendable {
        /// Seeds the first record's checksum, so records of another generation never chain on.
        var salt: UInt64
        /// The sequence number of the generation's first record.
        var baseSequence: UInt64
    }

    /// One record found by ``scan(_:)``: its sequence number and where its payload lies.
    struct Record: Equatable, Sendable {
        let sequence: UInt64
        let payload: Range<Int>
    }

    /// The valid part of a journal as read.
    struct Scan: Equatable, Sendable {
        /// Nil when the header itself is torn or absent: then there are no records.
        let header: Header?
        let records: [Record]
        /// Where the next record goes: just past the last valid one.
        let end: Int
        /// The checksum the next record chains on.
        let lastChecksum: UInt64
        /// The sequence number the next record gets.
        var nextSequence: UInt64 { (header?.baseSequence ?? 0) + UInt64(records.count) }
    }

    static func encode(_ header: Header) -> [UInt8] {
        var w = ByteWriter(capacity: headerSize)
        w.appendFixedLittleEndian32(fileMagic)
        w.appendFixedLittleEndian32(version)
        w.appendFixedLittleEndian(header.salt)
        w.appendFixedLittleEndian(header.baseSequence)
        w.append(contentsOf: repeatElement(0, count: headerBytes - 8 - w.bytes.count))
        w.appendFixedLittleEndian(XXHash.hash64(w.bytes, 0..<w.bytes.count, seed: 0))
        w.append(contentsOf: repeatElement(0, count: headerSize - headerBytes))
        return w.bytes
    }

    /// A record of `payload` with `sequence`, chained on `previousChecksum`; returns its bytes
    /// and its checksum (the next record's seed).
    static func encodeRecord(_ payload: [UInt8], sequence: UInt64, previousChecksum: UInt64) -> (bytes: [UInt8], checksum: UInt64) {
        precondition(payload.count <= maximumPayload, "a journal record of \(payload.count) bytes")
        var w = ByteWriter(capacity: recordHeaderSize + payload.count)
        w.appendFixedLittleEndian(0)   // the checksum, filled in below
        w.appendFixedLittleEndian32(recordMagic)
        w.appendFixedLittleEndian32(UInt32(payload.count))
        w.appendFixedLittleEndian(sequence)
        w.append(contentsOf: payload)
        var bytes = w.bytes
        let checksum = XXHash.hash64(bytes, 8..<bytes.count, seed: previousChecksum)
        withUnsafeBytes(of: checksum.littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
        return (bytes, checksum)
    }

    /// Where a scan stands: the file offset of the next record, the checksum it chains on, and
    /// the sequence number it must carry.
    struct Cursor: Equatable, Sendable {
        var offset: Int
        var chain: UInt64
        var nextSequence: UInt64

        /// Before the first record of the generation `header` starts.
        init(_ header: Header) {
            (offset, chain, nextSequence) = (headerSize, header.salt, header.baseSequence)
        }
    }

    static func scan(_ bytes: [UInt8]) -> Scan {
        guard bytes.count >= headerSize, let header = decodeHeader(bytes) else { return Scan(header: nil, records: [], end: 0, lastChecksum: 0) }
        var cursor = Cursor(header)
        let records = scanRecords(bytes, startingAt: 0, cursor: &cursor)
        return Scan(header: header, records: records, end: cursor.offset, lastChecksum: cursor.chain)
    }

    /// The valid records in `bytes`, which hold the file from offset `start` on, beginning at
    /// `cursor` (which must lie in them) and stopping at the first record that is torn, damaged
    /// or of another generation; `cursor` moves past the last one kept. Payload ranges are file
    /// offsets.
    static func scanRecords(_ bytes: [UInt8], startingAt start: Int, cursor: inout Cursor) -> [Record] {
        var records: [Record] = []
        var offset = cursor.offset - start
        guard offset >= 0 else { return [] }
        while bytes.count - offset >= recordHeaderSize {
            var position = offset
            guard let stored = try? bytes.readFixedLittleEndian(at: &position, what: "journal record"),
                  let magic = try? bytes.readFixedLittleEndian32(at: &position, what: "journal record"), magic == recordMagic,
                  let length = try? bytes.readFixedLittleEndian32(at: &position, what: "journal record"), Int(length) <= maximumPayload,
                  let sequence = try? bytes.readFixedLittleEndian(at: &position, what: "journal record"),
                  sequence == cursor.nextSequence,
                  Int(length) <= bytes.count - position else { break }
            let end = position + Int(length)
            let checksum = XXHash.hash64(bytes, offset + 8..<end, seed: cursor.chain)
            guard checksum == stored else { break }
            records.append(Record(sequence: sequence, payload: start + position..<start + end))
            (cursor.offset, cursor.chain, cursor.nextSequence) = (start + end, checksum, sequence &+ 1)
            offset = end
        }
        return records
    }

    /// The header at the start of `bytes`, or nil when it is torn, absent or not a journal's.
    static func decodeHeader(_ bytes: [UInt8]) -> Header? {
        guard bytes.count >= headerBytes else { return nil }
        var position = 0
        guard let magic = try? bytes.readFixedLittleEndian32(at: &position, what: "journal header"), magic == fileMagic,
              let version = try? bytes.readFixedLittleEndian32(at: &position, what: "journal header"), version == Self.version,
              let salt = try? bytes.readFixedLittleEndian(at: &position, what: "journal header"),
              let base = try? bytes.readFixedLittleEndian(at: &position, what: "journal header") else { return nil }
        var checksumAt = headerBytes - 8
        guard let stored = try? bytes.readFixedLittleEndian(at: &checksumAt, what: "journal header"),
              stored == XXHash.hash64(bytes, 0..<headerBytes - 8, seed: 0) else { return nil }
        return Header(salt: salt, baseSequence: base)
    }
}
