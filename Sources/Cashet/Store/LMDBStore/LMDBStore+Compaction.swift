import Foundation

/// `cashet compact`: gives back the disk space `data.mdb` keeps after removals. LMDB never
/// shrinks its file: pages freed by `gc` or `rm` are reused by later writes, not returned. The
/// compacting copy holds only the pages in use.
extension LMDBStore {
    /// What ``compact(at:configuration:)`` did.
    public struct CompactionReport: Hashable, Sendable {
        /// The size of `data.mdb` before.
        public var bytesBefore = 0
        /// The size of the compacted `data.mdb`.
        public var bytesAfter = 0
        /// Disk space given back.
        public var bytesFreed: Int { max(0, bytesBefore - bytesAfter) }
    }

    /// Replaces the store's `data.mdb` with LMDB's compacting copy of it (every record, the pages
    /// in use only), checked, synced, and swapped in with one rename: killed at any moment, the
    /// store is the old file or the complete new one, never in between. Result files in
    /// `objects/` are not touched.
    ///
    /// The store must be used by no other process, nor opened in this one (`.unavailable`
    /// otherwise), and its pages must be sound (`.corruptData`: run `cashet fsck --repair
    /// --rebuild` first). It needs free disk space for the copy, up to the pages in use.
    public static func compact(at path: String, configuration: Configuration = Configuration()) throws(CashetError) -> CompactionReport {
        // Before the store is taken: the check opens it through LMDB, whose lock it would meet.
        if let damage = try checkStructure(at: path).first {
            throw CashetError(.corruptData, "cannot compact \(path): \(damage.detail); `cashet fsck --repair --rebuild` first")
        }
        return try withStoreToItself(at: path, configuration: configuration) { root, lockFile throws(CashetError) in
            guard let old = try root.handle.openFile("data.mdb", flags: O_RDONLY) else {
                throw CashetError(.notAStore, "\(path) has no data.mdb")
            }
            var report = CompactionReport(bytesBefore: try old.regularFileSize() ?? 0)
            let scratch = rebuildPrefix + UUID().uuidString
            do throws(CashetError) {
                guard let directory = try root.handle.directory(scratch, createWithMode: configuration.permissions.directoryMode),
                      let copy = try directory.openFile("data.mdb", flags: O_RDWR | O_CREAT | O_EXCL, mode: try old.mode()) else {
                    throw CashetError(.storage, "cannot create \(path)/\(scratch)/data.mdb")
                }
                try LMDBEnvironment.writeCompactedCopy(of: path, to: copy.descriptor)
                try copy.sync()
                report.bytesAfter = try copy.regularFileSize() ?? 0
                // The copy is read back whole before it replaces anything.
                if let damage = try checkStructure(at: path + "/" + scratch).first {
                    throw CashetError(.corruptData, "the compacted copy of \(path)/data.mdb did not check out (\(damage.detail)); the store is unchanged")
                }
                try swapIn(scratch, root, lockFile, keepingOldAs: nil)
            } catch {
                _ = try? root.handle.remove(scratch)
                throw error
            }
            return report
        }
    }
}
