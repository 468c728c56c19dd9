import Foundation

/// An archive opened once and verified whole (see ``Client/importArchive(_:progress:)``): every
/// later read goes through the same open file, never by its path again, so the file checked is
/// the file applied.
///
/// ```swift
/// let archive = try ArchiveFile.open("results.cashet")   // damaged? nothing was touched yet
/// let report = try await client.importArchive(archive)
/// ```
public final class ArchiveFile: Sendable {
    /// The path it was opened by, for messages.
    public let path: String
    /// Its size in bytes.
    public let size: Int
    /// The largest result it may hold (see ``open(_:maxResultSize:progress:)``).
    public let maxResultSize: Int
    private let file: PosixFile

    /// Opens the archive at `path` and verifies it whole: its checksum and length, every
    /// record's SHA-256, that every record decodes, is canonical and within the limits every
    /// store enforces, and that every commit has its function and result. A result larger than
    /// `maxResultSize` bytes (4 GiB by default) refuses the archive with `.limitExceeded`: a valid
    /// archive can still decompress into far more than its own size. A missing path is
    /// `.notFound`; a damaged archive, or anything but a regular file (a directory, a FIFO, a
    /// device: never waited on), is `.damagedArchive`. `progress` counts bytes read.
    public static func open(_ path: String, maxResultSize: Int = 1 << 32, progress: ProgressHandler? = nil) throws(CashetError) -> ArchiveFile {
        // Non-blocking, so a FIFO in its place is refused instead of waiting for a writer.
        guard let file = try PosixFile.openIfExists(path, flags: O_RDONLY | O_NONBLOCK) else {
            throw CashetError(.notFound, "no archive at \(path)")
        }
        guard let size = try file.regularFileSize() else {
            throw CashetError(.damagedArchive, "\(path) is not a regular file, so not a cashet archive; nothing was imported")
        }
        let archive = ArchiveFile(path: path, size: size, maxResultSize: maxResultSize, file: file)
        var reader = try archive.reader()
        try Client.verify(&reader, maxResultSize: maxResultSize, progress: progress)
        return archive
    }

    private init(path: String, size: Int, maxResultSize: Int, file: consuming PosixFile) {
        self.path = path
        self.size = size
        self.maxResultSize = maxResultSize
        self.file = file
    }

    /// A reader from the start of the file, through a duplicate of the one descriptor.
    func reader() throws(CashetError) -> ArchiveReader {
        let duplicate = try PosixFile.duplicate(file.descriptor)
        try duplicate.seekToStart()
        return try ArchiveReader(duplicate, path: path, size: size)
    }
}
