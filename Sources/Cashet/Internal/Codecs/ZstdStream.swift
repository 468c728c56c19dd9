import CCashetZstd

/// Where streamed bytes go: a window to fill, then how much of it was filled.
protocol ByteSink: ~Copyable {
    /// Space for the next bytes; never empty while more bytes are expected.
    mutating func window() throws(CashetError) -> UnsafeMutableRawBufferPointer
    /// The first `count` bytes of the last window now hold data.
    mutating func filled(_ count: Int) throws(CashetError)
}

/// Streaming zstd between memory and files through bounded buffers.
extension Zstd {
    /// Size of the bounded buffers used for streaming (compressed input or output).
    static let streamBufferSize = 1 << 20

    /// How a streaming compression ended.
    enum CompressionOutcome: Equatable {
        /// The whole input is in the file as one frame of this many bytes.
        case compressed(Int)
        /// The probe did not shrink by an eighth; the file holds a partial frame to discard.
        case incompressible
        /// `shouldStop` answered true between two chunks.
        case stopped
    }

    /// Input compressed before deciding whether compression pays; its output stays in memory
    /// (it fits: the bound of 512 KiB is below the 1 MiB buffer), so giving up writes nothing.
    static let probeSize = 512 << 10

    /// Compresses `input` as one frame recording its content size, handing the output to
    /// `write` in chunks of at most ``streamBufferSize``. Gives up (`.incompressible`, nothing
    /// written) when the first ``probeSize`` bytes do not shrink by at least an eighth: then the
    /// caller stores the data raw instead. `shouldStop` is asked between chunks.
    static func compress(_ input: UnsafeRawBufferPointer, level: Int32, shouldStop: () -> Bool = { false },
                         write: (UnsafeRawBufferPointer) throws(CashetError) -> Void) throws(CashetError) -> CompressionOutcome {
        guard let context = ZSTD_createCCtx() else { throw CashetError(.storage, "zstd cannot allocate a compression context") }
        defer { ZSTD_freeCCtx(context) }
        try check(ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level), "setting the level")
        try check(ZSTD_CCtx_setPledgedSrcSize(context, UInt64(input.count)), "setting the content size")
        // Owned here and freed on every exit; zstd writes at most `size` bytes into it.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: streamBufferSize, alignment: 16)
        defer { buffer.deallocate() }
        var source = ZSTD_inBuffer(src: input.baseAddress, size: 0, pos: 0)
        var pending = 0   // output in the buffer, not yet handed to `write`
        var written = 0

        func drain() throws(CashetError) {
            guard pending > 0 else { return }
            try write(UnsafeRawBufferPointer(rebasing: buffer[0..<pending]))
            written += pending
            pending = 0
        }

        /// Feeds input up to `end`; false when stopped, or when the buffer fills while `mayWrite` is false.
        func pump(until end: Int, _ directive: ZSTD_EndDirective, mayWrite: Bool) throws(CashetError) -> Bool {
            source.size = end
            while true {
                if shouldStop() { return false }
                if pending == buffer.count {
                    guard mayWrite else { return false }
                    try drain()
                }
                var destination = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: pending)
                let remaining = ZSTD_compressStream2(context, &destination, &source, directive)
                try check(remaining, "compressing")
                pending = destination.pos
                let inputDone = source.pos == source.size
                if directive == ZSTD_e_continue ? inputDone : (inputDone && remaining == 0) { return true }
            }
        }

        let probeEnd = min(probeSize, input.count)
        let probed = try pump(until: probeEnd, probeEnd == input.count ? ZSTD_e_end : ZSTD_e_flush, mayWrite: false)
        if shouldStop() { return .stopped }
        if !probed || pending > probeEnd - probeEnd / 8 { return .incompressible }
        try drain()
        if probeEnd < input.count, !(try pump(until: input.count, ZSTD_e_end, mayWrite: true)) { return .stopped }
        try drain()
        return .compressed(written)
    }

    /// Decompresses the single frame in `file` into `sink`, which must take exactly
    /// `expectedSize` bytes. Damage (bad frame, truncation, wrong size, trailing bytes) is `.corruptData`.
    static func decompress(_ file: borrowing PosixFile, expectedSize: Int, into sink: inout some ByteSink & ~Copyable) throws(CashetError) {
        // Owned here and freed on every exit; `readFully` fills at most `count` bytes.
        let compressed = UnsafeMutableRawBufferPointer.allocate(byteCount: streamBufferSize, alignment: 16)
        defer { compressed.deallocate() }
        try decompressFrame(named: file.path, expectedSize: expectedSize, into: &sink) { () throws(CashetError) in
            UnsafeRawBufferPointer(rebasing: compressed[0..<(try file.readFully(into: compressed))])
        }
    }

    /// Decompresses the single frame `next` hands out in chunks (an empty one at its end) into
    /// `sink`, which must take exactly `expectedSize` bytes; `name` says what the frame is in
    /// errors. Each chunk is used before `next` is called again.
    static func decompressFrame(named name: String, expectedSize: Int, into sink: inout some ByteSink & ~Copyable,
                                next: () throws(CashetError) -> UnsafeRawBufferPointer) throws(CashetError) {
        guard let context = ZSTD_createDCtx() else { throw CashetError(.storage, "zstd cannot allocate a decompression context") }
        defer { ZSTD_freeDCtx(context) }
        var produced = 0
        var frameEnded = false
        while true {
            let chunk = try next()
            if chunk.isEmpty { break }
            guard !frameEnded else { throw CashetError(.corruptData, "\(name) has bytes after its zstd frame") }
            var source = ZSTD_inBuffer(src: chunk.baseAddress, size: chunk.count, pos: 0)
            while source.pos < source.size && !frameEnded {
                let window = produced < expectedSize ? try sink.window() : UnsafeMutableRawBufferPointer(start: nil, count: 0)
                var destination = ZSTD_outBuffer(dst: window.baseAddress, size: window.count, pos: 0)
                let before = source.pos
                let hint = ZSTD_decompressStream(context, &destination, &source)
                if ZSTD_isError(hint) != 0 {
                    throw CashetError(.corruptData, "\(name) is not a valid zstd frame: \(String(cString: ZSTD_getErrorName(hint)))")
                }
                if destination.pos > 0 { try sink.filled(destination.pos) }
                produced += destination.pos
                frameEnded = hint == 0
                if !frameEnded && destination.pos == 0 && source.pos == before {
                    throw CashetError(.corruptData, "\(name) expands beyond the expected \(expectedSize) bytes")
                }
            }
            guard source.pos == source.size else { throw CashetError(.corruptData, "\(name) has bytes after its zstd frame") }
        }
        guard frameEnded else { throw CashetError(.corruptData, "\(name) is truncated: its zstd frame does not end") }
        guard produced == expectedSize else {
            throw CashetError(.corruptData, "\(name) expands to \(produced) bytes, expected \(expectedSize)")
        }
    }

    private static func check(_ code: Int, _ action: String) throws(CashetError) {
        if ZSTD_isError(code) != 0 {
            throw CashetError(.storage, "zstd failed \(action): \(String(cString: ZSTD_getErrorName(code)))")
        }
    }
}
