import CCashetSystem
import Crypto
#if canImport(Glibc)
import Glibc
#endif

/// Fills caller-owned memory: the destination of a blob loaded into an array.
struct MemorySink: ByteSink, ~Copyable {
    // Points into memory the caller keeps alive and exclusively owns while the sink is used.
    private let buffer: UnsafeMutableRawBufferPointer
    private(set) var count = 0

    init(_ buffer: UnsafeMutableRawBufferPointer) {
        self.buffer = buffer
        // Fresh memory about to be filled whole: fault it in at once (huge pages where allowed).
        if let base = buffer.baseAddress, buffer.count >= 1 << 20 { cashet_prepare_fill(base, buffer.count) }
    }

    mutating func window() throws(CashetError) -> UnsafeMutableRawBufferPointer {
        guard count < buffer.count else { throw CashetError(.corruptData, "blob data is longer than its recorded size \(buffer.count)") }
        return UnsafeMutableRawBufferPointer(rebasing: buffer[count...])
    }

    mutating func filled(_ count: Int) throws(CashetError) { self.count += count }
}

/// Collects bytes into an array that grows as they arrive, up to `limit`: the destination of a
/// blob whose recorded size is too large to allocate on trust.
struct GrowingSink: ByteSink, ~Copyable {
    private(set) var bytes: [UInt8] = []
    private let limit: Int
    // Owned by the sink: allocated in init, freed in deinit.
    private let buffer: UnsafeMutableRawBufferPointer

    init(limit: Int) {
        self.limit = limit
        buffer = .allocate(byteCount: Zstd.streamBufferSize, alignment: 16)
    }

    mutating func window() throws(CashetError) -> UnsafeMutableRawBufferPointer {
        guard bytes.count < limit else { throw CashetError(.corruptData, "blob data is longer than its recorded size \(limit)") }
        return UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(buffer.count, limit - bytes.count)])
    }

    mutating func filled(_ count: Int) throws(CashetError) {
        bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
    }

    deinit { buffer.deallocate() }
}

/// Writes through a bounded buffer to a file, checksumming what passes (XXH3-64, and SHA-256
/// when asked): a blob streamed out.
struct FileSink: ByteSink, ~Copyable {
    let file: PosixFile
    // Owned by the sink: allocated in init, freed in deinit.
    private let buffer: UnsafeMutableRawBufferPointer
    private let checksum = XXHash.Streaming()
    private var hasher: SHA256?

    init(_ file: consuming PosixFile, sha256: Bool = false, bufferSize: Int = Zstd.streamBufferSize) {
        self.file = file
        hasher = sha256 ? SHA256() : nil
        buffer = .allocate(byteCount: bufferSize, alignment: 16)
    }

    mutating func window() throws(CashetError) -> UnsafeMutableRawBufferPointer { buffer }

    mutating func filled(_ count: Int) throws(CashetError) {
        let data = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
        checksum.update(data)
        hasher?.update(bufferPointer: data)
        try file.writeAll(data)
    }

    /// The XXH3-64 of everything written.
    var digest: UInt64 { checksum.digest() }

    /// The SHA-256 of everything written, when asked for at init.
    var sha256: ContentHash? { hasher.map { ContentHash(digest: $0.finalize()) } }

    deinit { buffer.deallocate() }
}

/// Copies a raw file into a sink; it must hold exactly `expectedSize` bytes.
func copyRaw(_ file: borrowing PosixFile, expectedSize: Int, into sink: inout some ByteSink & ~Copyable) throws(CashetError) {
    var copied = 0
    while copied < expectedSize {
        let window = try sink.window()
        let limited = UnsafeMutableRawBufferPointer(rebasing: window[0..<min(window.count, expectedSize - copied)])
        let count = try file.readFully(into: limited)
        if count == 0 { throw CashetError(.corruptData, "\(file.path) is truncated: \(copied) of \(expectedSize) bytes") }
        try sink.filled(count)
        copied += count
    }
    var probe: UInt8 = 0
    let extra = try withUnsafeMutableBytes(of: &probe) { byte throws(CashetError) in try file.readFully(into: byte) }
    if extra > 0 { throw CashetError(.corruptData, "\(file.path) is longer than its recorded \(expectedSize) bytes") }
}

/// `Array.withUnsafeBytes` for bodies that throw `CashetError` (the standard one only rethrows untyped).
func withContiguousBytes<R>(of bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(CashetError) -> R) throws(CashetError) -> R {
    let result: Result<R, CashetError> = bytes.withUnsafeBytes { buffer in
        do throws(CashetError) { return .success(try body(buffer)) } catch { return .failure(error) }
    }
    return try result.get()
}
