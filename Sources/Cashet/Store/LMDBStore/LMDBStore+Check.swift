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
        /// Fingerprints whose head names a missing commit.
        var danglingHeads: [[UInt8]] = []
        /// Blob → (recorded references, counted references), where they differ.
        var referenceFixes: [ContentHash: (recorded: Int, counted: Int)] = [:]
        var countersWrong = false
        /// Garbage files to unlink on repair.
        var garbageFiles: [String] = []
    }

    public nonisolated(nonsending) func check(repair: Bool) async throws(CashetError) -> IntegrityReport {
        try withObjectsLockIfPossible { () throws(CashetError) -> IntegrityReport in
            let survey = try survey()
            var report = survey.report
            guard repair, !survey.report.problems.isEmpty else { return report }
            report.repairs = try applyRepairs(survey)
            report.unrepaired = try self.survey().report.problems.filter(\.kind.isDamage)
            return report
        }
    }

    /// Read-only stores may have no lock file and no way to create one; they cannot change anyway.
    private func withObjectsLockIfPossible<T>(_ body: () throws(CashetError) -> T) throws(CashetError) -> T {
        if configuration.readOnly && !FileManager.default.fileExists(atPath: files.lockPath) { return try body() }
        return try files.withLock(body)
    }

    private func survey() throws(CashetError) -> Survey {
        var survey = Survey()
        // Every table in one snapshot, so records written meanwhile cannot look inconsistent.
        let (infos, stored) = try reading("checking the tables of \(path)") { txn in
            var infos: [(ContentHash, StoreRecords.BlobInfo)] = []
            var stored: [ContentHash: Bool] = [:]   // hash → kept as a file
            try txn.forEach(tables.blobInfo) { key, value in infos.append((try ContentHash(bytes: key), try StoreRecords.BlobInfo(value))) }
            try txn.forEach(tables.blobs) { key, value in
                let hash = try ContentHash(bytes: key)
                if case .file = try StoreRecords.decodeBlobLocation(value, hash: hash) { stored[hash] = true } else { stored[hash] = false }
            }
            try surveyCommits(txn, infos: infos, stored: stored, &survey)
            return (infos, stored)
        }
        // Blob bytes, outside the transaction: no blob is removed meanwhile, as the lock is held.
        for (hash, _) in infos { verifyBlob(hash, isFile: stored[hash] == true, &survey) }
        let recorded = Set(infos.map(\.0))
        for hash in stored.keys where !recorded.contains(hash) {
            survey.untrusted.insert(hash)
            survey.report.problems.append(.init(kind: .damagedBlob, subject: hash.hex, detail: "blob data without its metadata record"))
        }

        // Files: every published file must be named by a file record.
        let (filesSeen, leftovers) = try storageAction("listing \(files.root)") { try files.leftovers { stored[$0] == true } }
        survey.report.filesChecked = filesSeen
        for leftover in leftovers {
            survey.garbageFiles.append(leftover.path)
            survey.report.problems.append(leftover.isTemporary
                ? .init(kind: .abandonedTemporaryFile, subject: leftover.path, detail: "left by an interrupted write")
                : .init(kind: .orphanFile, subject: leftover.path, detail: "no blob record names this file"))
        }
        return survey
    }

    /// Commits, reference counts, heads and counters, against the blob records of the same snapshot.
    private func surveyCommits(_ txn: LMDBTransaction, infos: [(ContentHash, StoreRecords.BlobInfo)], stored: [ContentHash: Bool], _ survey: inout Survey) throws {
        let recorded = Set(infos.map(\.0))
        var counted: [ContentHash: Int] = [:]
        var actual = StoreRecords.Counters()
        try txn.forEach(tables.commits) { key, value in
            survey.report.commitsChecked += 1
            let hash = try ContentHash(bytes: key)
            let commit: Commit
            do throws(CashetError) { commit = try StoreRecords.decodeCommit(hash: hash, value, source: nil) } catch {
                survey.doomedCommits.insert(hash)
                survey.report.problems.append(.init(kind: .damagedCommit, subject: hash.hex, detail: error.message))
                return
            }
            actual.count(commit.status, +1)
            guard let output = commit.output else { return }
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
        try txn.forEach(tables.heads) { key, value in
            let head = try StoreRecords.decodeHead(value)
            if try txn.get(tables.commits, head.commit.bytes) == nil {
                survey.danglingHeads.append(key)
                survey.report.problems.append(.init(kind: .danglingHead, subject: head.commit.hex, detail: "the newest commit of a call is missing"))
            }
        }
        actual.functions = try txn.count(tables.sources)
        for (hash, info) in infos { actual.count(info, inFile: stored[hash] == true, +1) }
        let recordedCounters = try readCounters(txn)
        if recordedCounters != actual {
            survey.countersWrong = true
            survey.report.problems.append(.init(kind: .wrongCounters, subject: path,
                                                detail: "stats say \(recordedCounters.commits) commits and \(recordedCounters.blobs) blobs; the store has \(actual.commits) and \(actual.blobs)"))
        }
    }

    /// Reads a blob through the normal load path and checks its SHA-256.
    private func verifyBlob(_ hash: ContentHash, isFile: Bool, _ survey: inout Survey) {
        survey.report.blobsChecked += 1
        if isFile && !FileManager.default.fileExists(atPath: files.path(of: hash)) {
            survey.untrusted.insert(hash)
            survey.report.problems.append(.init(kind: .missingBlobFile, subject: hash.hex, detail: "\(files.path(of: hash)) is missing"))
            return
        }
        do throws(CashetError) {
            let bytes = try readBlob(hash)
            survey.report.bytesVerified += bytes.count
            guard SHA256Hasher.hash(bytes) == hash else {
                survey.untrusted.insert(hash)
                survey.report.problems.append(.init(kind: .damagedBlob, subject: hash.hex, detail: "its bytes do not hash to its name"))
                return
            }
        } catch {
            survey.untrusted.insert(hash)
            survey.report.problems.append(.init(kind: .damagedBlob, subject: hash.hex, detail: error.message))
        }
    }

    /// Applies the fixes a survey calls for, in one write transaction, then removes garbage files.
    private func applyRepairs(_ survey: Survey) throws(CashetError) -> [String] {
        var repairs: [String] = []
        let doomedFiles = try writing("repairing the store at \(path)") { txn -> [ContentHash] in
            var state = WriteState(counters: try readCounters(txn))
            var doomed = survey.doomedCommits
            if !survey.untrusted.isEmpty {
                // Commits whose result cannot be trusted, including any recorded since the survey.
                try txn.forEach(tables.commits) { key, value in
                    let hash = try ContentHash(bytes: key)
                    if let output = (try? StoreRecords.decodeCommit(hash: hash, value, source: nil))?.output, survey.untrusted.contains(output.hash) {
                        doomed.insert(hash)
                    }
                }
            }
            for hash in doomed.sorted(by: { $0.hex < $1.hex }) {
                guard let raw = try txn.get(tables.commits, hash.bytes) else { continue }
                if (try? StoreRecords.decodeCommit(hash: hash, raw, source: nil)) != nil {
                    _ = try removeCommit(hash, txn, &state)
                } else {
                    try txn.delete(tables.commits, hash.bytes)   // undecodable: its index rows are skipped by readers
                }
                repairs.append("removed commit \(hash.hex): its record or its result cannot be trusted")
            }
            for hash in survey.untrusted.sorted(by: { $0.hex < $1.hex }) {
                _ = try dropBlob(hash, StoreRecords.BlobInfo(size: 0, storedSize: 0, references: 0), txn, &state)
                repairs.append("removed damaged blob \(hash.hex)")
            }
            for (hash, fix) in survey.referenceFixes where !survey.untrusted.contains(hash) {
                guard let raw = try txn.get(tables.blobInfo, hash.bytes) else { continue }
                var info = try StoreRecords.BlobInfo(raw)
                // Relative to what the survey saw, so writes since then keep their references.
                info.references = max(0, info.references + fix.counted - fix.recorded)
                try txn.put(tables.blobInfo, hash.bytes, info.bytes)
                if info.references == 0 { try txn.put(tables.unreferenced, hash.bytes, []) }
                repairs.append("set the reference count of blob \(hash.hex) to \(info.references)")
            }
            for key in survey.danglingHeads {
                try restoreHead(key, txn)
                repairs.append("repointed a head at its newest remaining commit")
            }
            state.counters = try countContents(txn)
            try txn.put(tables.meta, Self.countersKey, state.counters.bytes)
            if survey.countersWrong { repairs.append("recounted the store's statistics") }
            return state.filesToRemove
        }
        for hash in doomedFiles { try files.remove(hash) }
        for path in survey.garbageFiles {
            try FileSystem.removeIfPresent(path)
            repairs.append("removed leftover file \(path)")
        }
        return repairs
    }

    /// The counters, recounted from the tables (inside a write transaction, so exact).
    private func countContents(_ txn: LMDBTransaction) throws -> StoreRecords.Counters {
        var counters = StoreRecords.Counters()
        try txn.forEach(tables.commits) { key, value in
            counters.count(try StoreRecords.decodeCommit(hash: try ContentHash(bytes: key), value, source: nil).status, +1)
        }
        counters.functions = try txn.count(tables.sources)
        try txn.forEach(tables.blobInfo) { key, value in
            counters.count(try StoreRecords.BlobInfo(value), inFile: try isRecordedFile(try ContentHash(bytes: key), txn), +1)
        }
        return counters
    }
}
