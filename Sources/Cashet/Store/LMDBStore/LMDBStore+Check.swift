import Foundation

/// `fsck`: verifies every blob against its SHA-256, size and checksum, every reference between
/// commits, heads and blobs, the counters, and the files in `objects/`; optionally repairs.
///
/// The whole check holds the objects lock, so no file is published or removed meanwhile
/// (small-blob writes carry on). Repair removes only what cannot be trusted: commits whose
/// result is damaged or missing, records nothing uses, leftover files; a valid result is never
/// deleted.
extension LMDBStore {
    /// What one pass over the tables saw, in one read transaction.
    private struct Survey {
        var report = IntegrityReport()
        /// Blobs whose bytes cannot be trusted (damaged, missing file, missing record half).
        var untrusted: Set<ContentHash> = []
        /// Commits to remove on repair: damaged, dangling, or using an untrusted blob.
        var doomedCommits: Set<ContentHash> = []
        /// Rows of the blob tables too damaged to name a blob (a key that is no hash).
        var damagedRows: [(table: LMDBDatabase, key: [UInt8])] = []
        /// Function rows that do not decode, with a readable commit of each (nil: none left).
        var damagedFunctions: [ContentHash: TaskDefinition?] = [:]
        /// Blob → (recorded references, counted references), where they differ.
        var referenceFixes: [ContentHash: (recorded: Int, counted: Int)] = [:]
        var countersWrong = false
        /// The tallies counted from the commits, and whether the stored ones differ, or are not kept.
        var tallies = TallyDelta()
        var talliesWrong = false
        var talliesMissing = false
        /// The `usage` record does not match its checksum.
        var usageDamaged = false
        /// The schema version record is gone (see ``IntegrityReport/Problem/Kind/missingSchemaRecord``).
        var schemaRecordMissing = false
        /// Garbage files to unlink on repair.
        var garbageFiles: [BlobFiles.Leftover] = []
        /// Symbolic links to unlink on repair (paths relative to the store root).
        var links: [String] = []
        /// Commits and blobs checked, out of those the counters list.
        var checked = ProgressCount(total: 0, handler: nil)

        /// The blob a row of a blob table names; nil (reported, removed on repair) when its key
        /// is no hash.
        mutating func blobKey(_ key: [UInt8], _ table: LMDBDatabase, _ name: String) -> ContentHash? {
            if let hash = try? ContentHash(bytes: key) { return hash }
            damagedRows.append((table, key))
            report.problems.append(.init(kind: .damagedBlob, subject: name, detail: "a row whose key is not a blob hash (\(key.count) bytes)"))
            return nil
        }

        /// Marks a blob as not to be trusted, with the reason.
        mutating func distrust(_ hash: ContentHash, _ detail: String) {
            untrusted.insert(hash)
            report.problems.append(.init(kind: .damagedBlob, subject: hash.hex, detail: detail))
        }
    }

    public nonisolated(nonsending) func check(repair: Bool, progress: ProgressHandler?) async throws(CashetError) -> IntegrityReport {
        // A link in place of `objects/` or its lock file keeps the lock from being taken through
        // it: a repair removes those links first; a check looks without the lock.
        let links = try files.linksInTheLockPath()
        var removedLinks: [String] = []
        for link in links where repair {
            if try files.root.removeLink(link) { removedLinks.append("removed symbolic link \(path)/\(link) (not its target)") }
        }
        let lockable = removedLinks.count == links.count
        // LMDB trusts its pages: with damaged ones, the survey below could fault. A rebuild needs
        // the store to itself, so it cannot run while this store has it open.
        let structure = try structureProblems()
        if !structure.isEmpty {
            var report = IntegrityReport()
            report.problems = structure
            report.repairs = removedLinks
            if repair { report.unrepaired = structure }
            return report
        }
        // The structure is sound: the journal's commits go in first. A store that cannot apply
        // them (read-only, a full map) checks what LMDB holds; the journal is not damage.
        try? flushJournal()
        return try await withObjectsLockIfPossible(lockable) { () throws(CashetError) -> IntegrityReport in
            let survey = try survey(progress: progress)
            var report = survey.report
            report.repairs = removedLinks
            guard repair, !survey.report.problems.isEmpty || survey.talliesMissing else { return report }
            report.repairs += try applyRepairs(survey)
            report.unrepaired = try self.survey().report.problems.filter(\.kind.isDamage)
            for line in report.repairs { logger.notice("repaired", metadata: ["repair": "\(line)"]) }
            for problem in report.unrepaired { logger.warning("damage left unrepaired", metadata: ["problem": "\(problem)"]) }
            return report
        }
    }

    /// Read-only stores may have no lock file and no way to create one; they cannot change anyway.
    /// A store whose lock is behind a link is checked without it (and cannot be repaired until
    /// the link is gone).
    private nonisolated(nonsending) func withObjectsLockIfPossible<T>(_ lockable: Bool, _ body: () throws(CashetError) -> T) async throws(CashetError) -> T {
        if !lockable || (configuration.readOnly && (try? files.hasLockFile()) != true) { return try body() }
        return try await files.withLock(body)
    }

    private func survey(progress: ProgressHandler? = nil) throws(CashetError) -> Survey {
        var survey = Survey()
        // Every table in one snapshot, so records written meanwhile cannot look inconsistent.
        let (infos, stored) = try reading("checking the tables of \(path)") { txn in
            var infos: [(ContentHash, StoreRecords.BlobInfo)] = []
            var stored: [ContentHash: Bool] = [:]   // hash → kept as a file
            // One damaged row is reported and repaired on its own; it does not stop the check.
            try txn.forEach(tables.blobInfo) { key, value in
                guard let hash = survey.blobKey(key, tables.blobInfo, "blob_info") else { return }
                do throws(CashetError) {
                    infos.append((hash, try StoreRecords.BlobInfo(value)))
                } catch {
                    survey.distrust(hash, "its metadata record is damaged: \(error.message)")
                }
            }
            try txn.forEach(tables.blobs) { key, value in
                guard let hash = survey.blobKey(key, tables.blobs, "blobs") else { return }
                do throws(CashetError) {
                    if case .file = try StoreRecords.decodeBlobLocation(value, hash: hash) { stored[hash] = true } else { stored[hash] = false }
                } catch {
                    survey.distrust(hash, error.message)
                }
            }
            if progress != nil {
                let counters = try? readCounters(txn)
                survey.checked = ProgressCount(total: (counters?.commits ?? 0) + infos.count, handler: progress)
            }
            try surveyCommits(txn, infos: infos, stored: stored, &survey)
            for fix in try indexFixes(txn, skipping: survey.doomedCommits) { survey.report.problems.append(Self.problem(fix)) }
            return (infos, stored)
        }
        // Blob bytes, outside the transaction: no blob is removed meanwhile, as the lock is held.
        for (hash, _) in infos {
            verifyBlob(hash, isFile: stored[hash] == true, &survey)
            survey.checked.advance()
        }
        let recorded = Set(infos.map(\.0))
        for hash in stored.keys where !recorded.contains(hash) {
            survey.untrusted.insert(hash)
            survey.report.problems.append(.init(kind: .damagedBlob, subject: hash.hex, detail: "blob data without its metadata record"))
        }

        // Files: every published file must be named by a file record; no link anywhere.
        let walk = try storageAction("listing \(files.path)") { try files.walk { stored[$0] == true } }
        survey.report.filesChecked = walk.filesSeen
        for leftover in walk.leftovers {
            survey.garbageFiles.append(leftover)
            survey.report.problems.append(leftover.isTemporary
                ? .init(kind: .abandonedTemporaryFile, subject: leftover.path, detail: "left by an interrupted write")
                : .init(kind: .orphanFile, subject: leftover.path, detail: "no blob record names this file"))
        }
        for link in try files.root.links() + walk.links {
            survey.links.append(link)
            survey.report.problems.append(.init(kind: .symbolicLink, subject: path + "/" + link,
                                                detail: "a symbolic link inside the store (never followed; repair removes the link, not its target)"))
        }
        return survey
    }

    /// Commits, reference counts, heads and counters, against the blob records of the same snapshot.
    private func surveyCommits(_ txn: LMDBTransaction, infos: [(ContentHash, StoreRecords.BlobInfo)], stored: [ContentHash: Bool], _ survey: inout Survey) throws {
        let recorded = Set(infos.map(\.0))
        var counted: [ContentHash: Int] = [:]
        var actual = StoreRecords.Counters()
        var tasks: [ContentHash: TaskDefinition] = [:]   // one commit's task per function, to rewrite a damaged row
        var inlineResults: [ContentHash: Int] = [:]   // hash → size
        try tables.layout.forEachCommit(txn) { hash, decoded, inline in
            survey.report.commitsChecked += 1
            survey.checked.advance()
            let commit: Commit
            switch decoded {
            case .success(let sound): commit = sound
            case .failure(let error):
                if let hash { survey.doomedCommits.insert(hash) }
                survey.report.problems.append(.init(kind: .damagedCommit, subject: hash?.hex ?? "a commit row", detail: error.message))
                return
            }
            let hash = commit.hash
            actual.count(commit.status, +1)
            survey.tallies.count(commit, +1)
            if tasks[commit.fingerprint.functionHash] == nil { tasks[commit.fingerprint.functionHash] = commit.task }
            guard let output = commit.output else { return }
            if inline { return inlineResults[output.hash] = output.size }   // its own bytes: it cannot dangle
            counted[output.hash, default: 0] += 1
            if !recorded.contains(output.hash) {
                survey.doomedCommits.insert(hash)
                survey.report.problems.append(.init(kind: .danglingReference, subject: hash.hex, detail: "its output \(output.hash.hex) is not in the store"))
            }
        }
        for (hash, info) in infos where counted[hash, default: 0] != info.references {
            survey.referenceFixes[hash] = (info.references, counted[hash, default: 0])
            survey.report.problems.append(.init(kind: .wrongReferenceCount, subject: hash.hex,
                                                detail: "records \(info.references) references, \(counted[hash, default: 0]) commits use it"))
        }
        try txn.forEach(tables.sources) { key, value in
            guard (try? CanonicalCommit.decodeCanonicalFunction(value)) == nil else { return }
            let function = try ContentHash(bytes: key)
            survey.damagedFunctions[function] = tasks[function]
            survey.report.problems.append(.init(kind: .damagedFunction, subject: function.hex, detail: "its name, version and source do not decode"))
        }
        actual.functions = try txn.count(tables.sources)
        for (hash, info) in infos { actual.count(info, inFile: stored[hash] == true, +1) }
        for size in inlineResults.values { actual.count(StoreRecords.BlobInfo(size: size, storedSize: size, references: 1), inFile: false, +1) }
        if try txn.get(tables.meta, Self.schemaKey) == nil {
            survey.schemaRecordMissing = true
            survey.report.problems.append(.init(kind: .missingSchemaRecord, subject: path,
                                                detail: "the meta table has no schema version (a damaged key); read as schema \(tables.layout.schema.rawValue), from its tables"))
        }
        if try readUsage(txn) == nil {
            survey.usageDamaged = true
            survey.report.problems.append(.init(kind: .damagedUsage, subject: path,
                                                detail: "the record of hits and misses does not match its checksum; stats shows them as 0"))
        }
        let recordedCounters = try readCounters(txn)
        if recordedCounters != actual {
            survey.countersWrong = true
            survey.report.problems.append(.init(kind: .wrongCounters, subject: path,
                                                detail: "stats say " + recordedCounters.differences(from: actual)))
        }
        if let stored = try readTallies(txn) {
            if stored.withoutEmptyRows != survey.tallies.withoutEmptyRows {
                survey.talliesWrong = true
                survey.report.problems.append(.init(kind: .wrongCounters, subject: path, detail: "the tallies by function and by day differ from the commits"))
            }
        } else {
            survey.talliesMissing = true
        }
    }

    /// Reads a blob through the normal load path and checks its SHA-256. Bytes or records that do
    /// not match (hash, size, checksum, format) and missing files are damage; a blob the operating
    /// system would not let us read (permissions, I/O errors, too many open files: an errno) is
    /// reported as unreadable and never removed by a repair.
    private func verifyBlob(_ hash: ContentHash, isFile: Bool, _ survey: inout Survey) {
        survey.report.blobsChecked += 1
        do throws(CashetError) {
            if isFile, try !files.exists(hash) {
                survey.untrusted.insert(hash)
                survey.report.problems.append(.init(kind: .missingBlobFile, subject: hash.hex, detail: "\(files.path(of: hash)) is missing"))
                return
            }
            let bytes = try readBlob(hash)
            survey.report.bytesVerified += bytes.count
            guard SHA256Hasher.hash(bytes) == hash else {
                survey.untrusted.insert(hash)
                survey.report.problems.append(.init(kind: .damagedBlob, subject: hash.hex, detail: "its bytes do not hash to its name"))
                return
            }
        } catch where !(error.underlying is SystemError) || error.code == .corruptData {
            survey.untrusted.insert(hash)
            survey.report.problems.append(.init(kind: .damagedBlob, subject: hash.hex, detail: error.message))
        } catch {
            survey.report.problems.append(.init(kind: .unreadable, subject: isFile ? files.path(of: hash) : hash.hex,
                                                detail: "could not be read, so could not be checked: \(error.message)"))
        }
    }

    /// Applies the fixes a survey calls for: links first (so no walk meets them), then one write
    /// transaction, then the files it dropped and the garbage files.
    private func applyRepairs(_ survey: Survey) throws(CashetError) -> [String] {
        var repairs: [String] = []
        for link in survey.links {
            if try files.root.removeLink(link) { repairs.append("removed symbolic link \(path)/\(link) (not its target)") }
        }
        // The lines are built inside the transaction, which may run again (a growing map): only
        // the last run's lines count.
        let (lines, doomedFiles) = try writing("repairing the store at \(path)") { txn -> ([String], [ContentHash]) in
            var lines: [String] = []
            var state = WriteState(counters: try readCounters(txn))
            var doomed = survey.doomedCommits
            if !survey.untrusted.isEmpty {
                // Commits whose result cannot be trusted, including any recorded since the survey.
                try tables.layout.forEachCommit(txn) { hash, decoded, _ in
                    if let hash, case .success(let commit) = decoded, let output = commit.output, survey.untrusted.contains(output.hash) {
                        doomed.insert(hash)
                    }
                }
            }
            // Damaged blobs go first: removing a commit reads its result's metadata, which may be
            // the damaged part.
            for hash in survey.untrusted.sorted(by: { $0.hex < $1.hex }) {
                _ = try dropBlob(hash, StoreRecords.BlobInfo(size: 0, storedSize: 0, references: 0), txn, &state)
                lines.append("removed damaged blob \(hash.hex)")
            }
            for hash in doomed.sorted(by: { $0.hex < $1.hex }) {
                // A row whose commit hash was altered is found by no lookup: only by its rows.
                guard try tables.layout.contains(hash, txn) else {
                    if try tables.layout.removeDamaged(hash, txn) {
                        lines.append("removed commit \(hash.hex): its record or its result cannot be trusted")
                    }
                    continue
                }
                if (try? tables.layout.commit(hash, verified: false, txn)) != nil {
                    _ = try removeCommit(hash, txn, &state)
                } else {
                    try tables.layout.removeDamaged(hash, txn)   // undecodable: its index rows are skipped by readers
                }
                lines.append("removed commit \(hash.hex): its record or its result cannot be trusted")
            }
            let unreadable = try tables.layout.removeUnreadableRows(txn)
            if unreadable > 0 { lines.append("removed \(unreadable) commit row(s) that do not decode") }
            for (hash, fix) in survey.referenceFixes where !survey.untrusted.contains(hash) {
                guard let raw = try txn.get(tables.blobInfo, hash.bytes) else { continue }
                var info = try StoreRecords.BlobInfo(raw)
                // Relative to what the survey saw, so writes since then keep their references.
                info.references = max(0, info.references + fix.counted - fix.recorded)
                try txn.put(tables.blobInfo, hash.bytes, info.bytes)
                if info.references == 0 { try txn.put(tables.unreferenced, hash.bytes, []) }
                lines.append("set the reference count of blob \(hash.hex) to \(info.references)")
            }
            for (function, task) in survey.damagedFunctions.sorted(by: { $0.key.hex < $1.key.hex }) {
                if let task {
                    try txn.put(tables.sources, function.bytes, CanonicalCommit.encodeFunction(task))
                    lines.append("wrote the row of function \(function.hex) again from its commits (its source is lost)")
                } else {
                    try txn.delete(tables.sources, function.bytes)
                    lines.append("removed the damaged row of function \(function.hex), which no commit uses")
                }
            }
            for row in survey.damagedRows {
                try txn.delete(row.table, row.key)
                lines.append("removed a damaged row of a blob table")
            }
            // After the removals: rows and heads the removed commits (or damaged keys) left.
            lines += try apply(try indexFixes(txn, skipping: []), txn)
            let counted = try countContents(txn)
            state.counters = counted.counters
            try txn.put(tables.meta, Self.countersKey, state.counters.bytes)
            if survey.countersWrong { lines.append("recounted the store's statistics") }
            try rewriteTallies(counted.tallies, txn)
            if survey.talliesWrong { lines.append("recounted the tallies by function and by day") }
            if survey.talliesMissing { lines.append("counted the tallies by function and by day, which this store did not keep yet (kept from now on)") }
            if survey.usageDamaged {
                try txn.delete(tables.meta, Self.usageKey)
                lines.append("removed the damaged record of hits and misses (they count again from 0)")
            }
            if survey.schemaRecordMissing {
                if try txn.put(tables.meta, Self.schemaKey, Self.schemaRecord(tables.layout.schema), noOverwrite: true) {
                    lines.append("wrote back the store's schema version (\(tables.layout.schema.rawValue))")
                }
            }
            return (lines, state.filesToRemove)
        }
        repairs += lines
        for hash in doomedFiles { try files.remove(hash) }
        for leftover in survey.garbageFiles {
            try files.remove(leftover)
            repairs.append("removed leftover file \(leftover.path)")
        }
        return repairs
    }

    /// The counters and tallies, recounted from the tables (inside a write transaction, so exact).
    private func countContents(_ txn: LMDBTransaction) throws -> (counters: StoreRecords.Counters, tallies: TallyDelta) {
        var counters = StoreRecords.Counters()
        var tallies = TallyDelta()
        var inlineResults: [ContentHash: Int] = [:]
        try tables.layout.forEachCommit(txn) { _, decoded, inline in
            guard case .success(let commit) = decoded else { return }   // a row the repair could not remove
            counters.count(commit.status, +1)
            tallies.count(commit, +1)
            if inline, let output = commit.output { inlineResults[output.hash] = output.size }
        }
        for size in inlineResults.values { counters.count(StoreRecords.BlobInfo(size: size, storedSize: size, references: 1), inFile: false, +1) }
        counters.functions = try txn.count(tables.sources)
        try txn.forEach(tables.blobInfo) { key, value in
            counters.count(try StoreRecords.BlobInfo(value), inFile: try isRecordedFile(try ContentHash(bytes: key), txn), +1)
        }
        return (counters, tallies)
    }
}
