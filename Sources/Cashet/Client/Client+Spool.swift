import Foundation

/// A result's bytes copied to an anonymous temporary file and read back by range: how
/// `cashet serve` streams a large result (and answers `Range` requests) without holding it in
/// memory. The file has no name; it goes when the value does.
package final class SpooledResult: @unchecked Sendable {
    // @unchecked: the descriptor never changes after init, and `pread` keeps no position, so
    // reads from several threads do not interfere.
    private let file: PosixFile
    /// The result's size in bytes.
    package let size: Int

    fileprivate init(file: consuming PosixFile, size: Int) {
        self.file = file
        self.size = size
    }

    /// Up to `count` bytes at `offset`, fewer only at the end.
    package func read(at offset: Int, count: Int) throws(CashetError) -> [UInt8] {
        try file.readBytes(at: offset, count: max(0, min(count, size - offset)))
    }
}

extension Client {
    /// Copies the result `output` (decompressed, checked as every load is) to an anonymous file
    /// in `directory` (the system's temporary directory by default).
    package nonisolated(nonsending) func spool(_ output: ObjectRef, in directory: String = NSTemporaryDirectory()) async throws(CashetError) -> SpooledResult {
        let file = try PosixFile.createAnonymous(in: directory.hasSuffix("/") ? String(directory.dropLast()) : directory)
        try await store.exportBlob(output.hash, toFileDescriptor: file.descriptor)
        let size = try file.regularFileSize() ?? 0
        guard size == output.size else {
            throw CashetError(.corruptData, "result \(output.hash.hex) spooled \(size) bytes, its record says \(output.size)")
        }
        return SpooledResult(file: file, size: size)
    }

    /// The bytes of a result the caller already located (by its commit): one read by hash, never
    /// the search by result that ``get(_:)`` falls back to for a name that is no commit.
    package nonisolated(nonsending) func bytes(of output: ObjectRef) async throws(CashetError) -> [UInt8] {
        try await store.blob(output.hash)
    }
}

extension Commit {
    /// The output, or `.notFound` saying that the commit failed.
    package func requiredOutput() throws(CashetError) -> ObjectRef {
        guard let output else {
            throw CashetError(.notFound, "commit \(hash.shortHex) failed and has no output: \(error ?? "no error recorded")")
        }
        return output
    }
}
