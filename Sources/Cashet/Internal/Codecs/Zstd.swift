import CCashetZstd

/// zstd one-shot compression of in-memory buffers.
package enum Zstd {
    /// Compresses `bytes` into one zstd frame that records the content size.
    package static func compress(_ bytes: [UInt8], level: Int32) throws(CashetError) -> [UInt8] {
        let bound = ZSTD_compressBound(bytes.count)
        var output = [UInt8](repeating: 0, count: bound)
        // Both buffers live for the call; zstd writes at most `bound` bytes into `output`.
        let written = output.withUnsafeMutableBytes { out in
            bytes.withUnsafeBytes { input in
                ZSTD_compress(out.baseAddress, out.count, input.baseAddress, input.count, level)
            }
        }
        if ZSTD_isError(written) != 0 {
            throw CashetError(.storage, "zstd compression failed: \(String(cString: ZSTD_getErrorName(written)))")
        }
        output.removeSubrange(written...)
        return output
    }

    /// Decompresses one frame that must expand to exactly `expectedSize` bytes.
    ///
    /// `expectedSize` comes from a record that may be damaged or hostile, so it is not trusted for
    /// an allocation: the frame must declare the same content size and be able to hold it (zstd
    /// expands at most ~32768×: a 128 KiB block as a 4-byte run), and beyond 64 MiB the output
    /// grows only as bytes really come out of the frame.
    package static func decompress(_ frame: ArraySlice<UInt8>, expectedSize: Int) throws(CashetError) -> [UInt8] {
        let declared = frame.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
        guard declared == UInt64(expectedSize) else {
            let claim = declared == ZSTD_CONTENTSIZE_UNKNOWN || declared == ZSTD_CONTENTSIZE_ERROR ? "no valid size" : "\(declared) bytes"
            throw CashetError(.corruptData, "zstd frame declares \(claim), its record says \(expectedSize)")
        }
        guard expectedSize <= frame.count * 32_768 + (1 << 17) else {
            throw CashetError(.corruptData, "a zstd frame of \(frame.count) bytes cannot hold the \(expectedSize) bytes its record claims")
        }
        guard expectedSize > trustedAllocation else { return try decompressOneShot(frame, expectedSize: expectedSize) }
        return try decompressGrowing(frame, expectedSize: expectedSize)
    }

    /// Output buffers up to this size are allocated at once from a checked claim.
    package static let trustedAllocation = 64 << 20

    private static func decompressOneShot(_ frame: ArraySlice<UInt8>, expectedSize: Int) throws(CashetError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: expectedSize)
        // Both buffers live for the call; zstd writes at most `expectedSize` bytes.
        let written = output.withUnsafeMutableBytes { out in
            frame.withUnsafeBytes { input in
                ZSTD_decompress(out.baseAddress, out.count, input.baseAddress, input.count)
            }
        }
        if ZSTD_isError(written) != 0 {
            throw CashetError(.corruptData, "zstd frame does not decompress: \(String(cString: ZSTD_getErrorName(written)))")
        }
        guard written == expectedSize else {
            throw CashetError(.corruptData, "zstd frame expanded to \(written) bytes, expected \(expectedSize)")
        }
        return output
    }

    /// Streams the frame out into an array that grows with what really comes out (so a false
    /// size claim costs no more memory than the bytes behind it).
    private static func decompressGrowing(_ frame: ArraySlice<UInt8>, expectedSize: Int) throws(CashetError) -> [UInt8] {
        var sink = GrowingSink(limit: expectedSize)
        var failure: CashetError?
        // The frame's bytes stay put for the whole call; they are handed out once, then nothing.
        frame.withUnsafeBytes { input in
            var handedOut = false
            do throws(CashetError) {
                try decompressFrame(named: "a zstd frame", expectedSize: expectedSize, into: &sink) { () throws(CashetError) in
                    defer { handedOut = true }
                    return handedOut ? UnsafeRawBufferPointer(start: nil, count: 0) : input
                }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return sink.bytes
    }
}
