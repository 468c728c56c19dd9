import Foundation

/// The structure of `data.mdb`, checked without LMDB (see ``LMDBFileWalker``): LMDB trusts its
/// pages, so a damaged branch or page header makes it assert or fault, where this check names
/// the page. `fsck` runs it first; ``rebuild(at:)`` repairs what it finds.
extension LMDBStore {
    /// Checks every page of the store's `data.mdb` that its newest snapshot reaches, without
    /// opening any of its tables through LMDB: safe on a file that LMDB would fault on.
    ///
    /// The snapshot is pinned by an LMDB read transaction for the length of the check, so writers
    /// in other processes may go on. Each problem is of kind ``IntegrityReport/Kind/damagedStructure``;
    /// an empty list means LMDB can walk every table.
    public static func checkStructure(at path: String) throws(CashetError) -> [IntegrityReport.Problem] {
        try prepareDirectory(path, create: false, mode: 0)   // a store, without links where LMDB looks
        let root = try StoreRoot(path)
        try refuseEmptyDataFile(root, path: path)
        var options = LMDBOptions()
        options.readOnly = true
        let key = try SharedEnvironments.Key(directory: root.handle.descriptor, path: path)
        do {
            return try SharedEnvironments.withEnvironment(key, directory: root.handle.descriptor, path: path, options: options) { env in
                try structureProblems(env, root: root)
            }
        } catch {
            let wrapped = wrap(error, "checking the structure of \(path)/data.mdb")
            // A file LMDB refuses to open (shorter than its newest snapshot, torn meta pages) is
            // damage of the same kind: a rebuild salvages what its pages still hold.
            guard wrapped.code == .corruptData else { throw wrapped }
            return [IntegrityReport.Problem(kind: .damagedStructure, subject: "\(path)/data.mdb", detail: wrapped.message)]
        }
    }

    /// ``checkStructure(at:)`` through this store's own environment.
    func structureProblems() throws(CashetError) -> [IntegrityReport.Problem] {
        do {
            return try Self.structureProblems(env, root: files.root)
        } catch {
            throw Self.wrap(error, "checking the structure of \(path)/data.mdb")
        }
    }

    private static func structureProblems(_ env: LMDBEnvironment, root: StoreRoot) throws -> [IntegrityReport.Problem] {
        try env.read { txn in
            guard let file = try root.handle.openFile("data.mdb", flags: O_RDONLY) else {
                throw CashetError(.notAStore, "\(root.path) has no data.mdb")
            }
            let walker = try LMDBFileWalker(file: file, transaction: txn.id)
            let tables = try walker.checkAll()
            var problems = walker.problems.map { problem in
                IntegrityReport.Problem(kind: .damagedStructure, subject: "\(root.path)/data.mdb", detail: "\(problem.tree): \(problem.detail)")
            }
            // No table at all is an LMDB file whose store was never made (a crash while creating
            // it): not damage; opening the store says what it is. Some but not all is damage.
            let schema = Self.schema(of: tables)
            for (name, _) in Tables.specs(schema) where tables[name] == nil && !tables.isEmpty && walker.problems.isEmpty {
                problems.append(.init(kind: .damagedStructure, subject: "\(root.path)/data.mdb", detail: "the table '\(name)' is missing"))
            }
            // A flipped flag bit makes LMDB refuse the table (MDB_INCOMPATIBLE) or read it in
            // the wrong key order; a rebuild walks it with the flags it was made with.
            for (name, tree) in tables.sorted(by: { $0.key < $1.key }) {
                guard let flags = Tables.recordedFlags[name], tree.flags != flags else { continue }
                problems.append(.init(kind: .damagedStructure, subject: "\(root.path)/data.mdb",
                                      detail: "the table '\(name)' records flags 0x\(String(tree.flags, radix: 16)) where the store makes it with 0x\(String(flags, radix: 16))"))
            }
            if walker.problemsNotKept > 0 {
                problems.append(.init(kind: .damagedStructure, subject: "\(root.path)/data.mdb", detail: "and \(walker.problemsNotKept) more problems"))
            }
            return problems
        }
    }
}
