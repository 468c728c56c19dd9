/// The portable archive `cashet export` writes and `cashet import` reads (version 1).
///
/// ```
/// "CASHETAR" version(1 byte)
/// record*:   kind(1) length(8, little-endian) payload(length)
///   function  hash(32) function record (name, version, source)
///   commit    hash(32) commit record (as the LMDB store keeps it)
///   blob      hash(32) size(8, little-endian) zstd frame of the bytes
/// end:       kind 0xFF, length 40, record count(8) SHA-256 of every byte before this record(32)
/// ```
///
/// A commit's function record and (on its first use) its result blob follow it directly, so an
/// importer that already has a commit skips its records unread. Every record is verified
/// against its hash on import, and the whole file against the end record before any of it is
/// applied: a truncated or altered archive is refused whole.
enum ArchiveFormat {
    static let magic = Array("CASHETAR".utf8)
    static let version: UInt8 = 1
    static let headerSize = 9

    enum Kind: UInt8 {
        case function = 1
        case commit = 2
        case blob = 3
        case end = 0xFF
    }

    /// Kind byte plus length.
    static let recordHeaderSize = 9
    /// Record count plus SHA-256.
    static let endPayloadSize = 40
}
