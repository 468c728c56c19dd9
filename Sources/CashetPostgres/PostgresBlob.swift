import Cashet
import NIOCore

/// How a blob is kept in `cashet_blobs` / `cashet_blob_chunks`.
///
/// Blobs of 4 KiB or more are zstd-compressed when that saves space. What is stored goes in the
/// blob's own row up to 1 MiB, and in 1 MiB rows of `cashet_blob_chunks` above, so no single
/// value (and no message to or from the server) is huge.
struct PostgresBlob: Sendable {
    static let compressionThreshold = 4096
    static let chunkSize = 1 << 20

    /// Bit 0: zstd-compressed. Bit 1: stored in chunks.
    struct Encoding: OptionSet, Sendable {
        let rawValue: Int16
        static let compressed = Encoding(rawValue: 1)
        static let chunked = Encoding(rawValue: 2)
    }

    let ref: ObjectRef
    let encoding: Encoding
    /// The stored bytes (compressed or not), split into chunks when ``Encoding/chunked``;
    /// one element otherwise.
    let pieces: [[UInt8]]
    let storedSize: Int

    /// Hashes and encodes `bytes` for storing.
    init(_ bytes: [UInt8]) throws(CashetError) {
        ref = ObjectRef(hash: ContentHash(hashing: bytes), size: bytes.count)
        var stored = bytes
        var encoding: Encoding = []
        if bytes.count >= Self.compressionThreshold {
            let compressed = try Zstd.compress(bytes, level: 3)
            if compressed.count < bytes.count {
                stored = compressed
                encoding.insert(.compressed)
            }
        }
        storedSize = stored.count
        if stored.count > Self.chunkSize {
            encoding.insert(.chunked)
            pieces = stride(from: 0, to: stored.count, by: Self.chunkSize).map { Array(stored[$0..<min($0 + Self.chunkSize, stored.count)]) }
        } else {
            pieces = [stored]
        }
        self.encoding = encoding
    }

    /// Restores a blob's bytes from its stored pieces and checks them against its hash and size.
    static func decode(_ hash: ContentHash, size: Int, encoding rawEncoding: Int16, pieces: [[UInt8]], location: String) throws(CashetError) -> [UInt8] {
        let encoding = Encoding(rawValue: rawEncoding)
        guard Encoding([.compressed, .chunked]).isSuperset(of: encoding) else {
            throw CashetError(.corruptData, "blob \(hash.hex) in \(location) has unknown encoding \(rawEncoding)")
        }
        let stored = pieces.count == 1 ? pieces[0] : Array(pieces.joined())
        let bytes: [UInt8]
        do {
            bytes = encoding.contains(.compressed) ? try Zstd.decompress(stored[...], expectedSize: size) : stored
        } catch {
            throw CashetError(.corruptData, "blob \(hash.hex) in \(location) does not decode: \(error.message)")
        }
        guard bytes.count == size, ContentHash(hashing: bytes) == hash else {
            throw CashetError(.corruptData, "blob \(hash.hex) in \(location) does not match its SHA-256 or size; it was altered")
        }
        return bytes
    }
}

extension Array where Element == UInt8 {
    /// The bytes as a `bytea` parameter.
    var bytea: ByteBuffer { ByteBuffer(bytes: self) }
}

extension ContentHash {
    /// The hash as a `bytea` parameter.
    var bytea: ByteBuffer { ByteBuffer(bytes: bytes) }

    /// Reads a hash from a `bytea` column.
    init(bytea: ByteBuffer) throws(CashetError) {
        try self.init(bytes: bytea.readableBytesView)
    }
}

extension Fingerprint {
    /// The fingerprint's 64 bytes as a `bytea` parameter.
    var bytea: ByteBuffer { ByteBuffer(bytes: bytes) }

    /// The advisory lock key of this fingerprint: the first 8 bytes of its arguments hash mixed
    /// with those of its function hash. (Not the fingerprint's first 8 bytes: those are the
    /// function's alone, and every call of one function would wait for the others.) Unrelated
    /// fingerprints sharing a key only wait for each other briefly.
    var lockKey: Int64 {
        zip(functionHash.bytes.prefix(8), argumentsHash.bytes.prefix(8)).reduce(Int64(0)) { ($0 << 8) | Int64($1.0 ^ $1.1) }
    }
}

extension ByteBuffer {
    /// The readable bytes as an array.
    var array: [UInt8] { Array(readableBytesView) }
}
