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
    package static func decompress(_ frame: ArraySlice<UInt8>, expectedSize: Int) throws(CashetError) -> [UInt8] {
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
}
