import ArgumentParser
import Cashet
import CashetPostgres
import Foundation

struct StatsCommand: StoreCommand {
    static var storeAccess: StoreAccess { .readOnly }
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Show store counters (O(1), from counters kept on every write) and the calls clients counted: hits, misses, hit rate.")
    @ParentCommand var parent: CashetCommand
    @OptionGroup var options: StoreOptions
    @Flag(help: "Print one JSON object.") var json = false

    func run(client: Client) async throws {
        let stats = try await client.stats()
        if json {
            print(try Output.json(StatsJSON(stats)))
            return
        }
        let calls = stats.hits + stats.misses
        let hitRate = stats.hitRate.map { String(format: "%.1f%%", $0 * 100) } ?? "-"
        let ratio = stats.storedBytes > 0 ? String(format: "%.2f×", Double(stats.logicalBytes) / Double(stats.storedBytes)) : "-"
        let rows: [(String, String)] = [
            ("commits", "\(stats.commits) (\(stats.completed) completed, \(stats.failed) failed)"),
            ("functions", "\(stats.functions)"),
            ("blobs", "\(stats.blobs) (\(stats.blobs - stats.fileBlobs) inline, \(stats.fileBlobs) in files)"),
            ("blob bytes", "\(Output.size(stats.logicalBytes)) logical, \(Output.size(stats.storedBytes)) stored (\(ratio))"),
            ("on disk", Output.size(stats.diskBytes)),
            ("calls", "\(calls) (\(stats.hits) hits, \(stats.misses) misses; hit rate \(hitRate))"),
            ("oldest", stats.oldest.map { "\(Output.isoString($0)) (\(Output.relative($0)))" } ?? "-"),
            ("newest", stats.newest.map { "\(Output.isoString($0)) (\(Output.relative($0)))" } ?? "-"),
        ]
        for (label, value) in rows { print("\(Output.padded(label, 11)) \(value)") }
    }
}

struct LogCommand: StoreCommand {
    static var storeAccess: StoreAccess { .readOnly }
    static let configuration = CommandConfiguration(commandName: "log", abstract: "List commits, newest first.")
    @ParentCommand var parent: CashetCommand
    @OptionGroup var options: StoreOptions
    @OptionGroup var filter: CommitFilterOptions
    @Option(name: [.customShort("n"), .customLong("max-count")], help: "At most this many commits.") var n: Int?
    @Flag(help: "Print one JSON object per line.") var json = false
    @Flag(help: "Print directly, not through the pager ($CASHET_PAGER, $PAGER or less).") var noPager = false

    func checkArguments() throws(CashetError) {
        if let n, n < 0 { throw CashetError(.invalidArgument, "-n must be zero or more, got \(n)") }
        _ = try filter.query()
    }

    func run(client: Client) async throws {
        let commits = try await client.log(try filter.query(limit: n))
        guard !commits.isEmpty || n == 0 else {
            FileHandle.standardError.write(Data("no commits match\n".utf8))
            throw ExitCode(ExitStatus.notFound)
        }
        let pager = Pager.start(disabled: noPager || json)
        defer { Pager.finish(pager) }
        try Output.printCommits(commits, json: json) { commit in
            let output = commit.output.map { Output.size($0.size) } ?? "-"
            let tagText = Output.clean(commit.tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))
            return "\(Output.paint(commit.hash.shortHex, .yellow))  \(Output.paint(Output.padded(commit.status.rawValue, 9), commit.status == .failed ? .red : .none)) \(Output.padded(Output.relative(commit.createdAt), 13)) \(Output.padded(output, 10)) \(Output.clean(commit.task.functionName + commit.task.argumentsSnapshot.prefix(60)))\(tagText.isEmpty ? "" : "  [\(tagText)]")"
        }
    }
}

struct ShowCommand: StoreCommand {
    static var storeAccess: StoreAccess { .readOnly }
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show one commit: function, source, arguments, output, lineage.",
        discussion: "A result's hash (what a program prints as `ref.hash`) shows the newest commit that produced it, and lists the others (the store may read every commit to find them).")
    @ParentCommand var parent: CashetCommand
    @OptionGroup var options: StoreOptions
    @Argument(help: "Commit hash, result hash, or a unique prefix of either (≥ 4 hex characters).") var hash: String
    @Flag(help: "Print one JSON object.") var json = false

    func run(client: Client) async throws {
        let commits = try await client.commits(named: hash)
        let commit = commits[0]
        let producers = commit.hash.hex.hasPrefix(hash.lowercased()) ? nil : commits.map(\.hash.hex)
        if json {
            var object = CommitJSON(commit, withSource: true)
            object.resultProducers = producers
            print(try Output.json(object))
            return
        }
        if let producers, let output = commit.output {
            let others = producers.count > 11 ? producers[1..<11].map { String($0.prefix(12)) }.joined(separator: ", ") + ", …" : producers.dropFirst().map { String($0.prefix(12)) }.joined(separator: ", ")
            print("result      \(output.hash.hex), produced by \(producers.count) commit(s)\(others.isEmpty ? "" : "; the newest is shown, the others are \(others)")")
        }
        print("commit      \(commit.hash.hex)")
        print("function    \(Output.clean(commit.task.functionName))\(commit.task.functionVersion.isEmpty ? "" : " (version \(Output.clean(commit.task.functionVersion)))")")
        print("identity    \(commit.fingerprint.functionHash.hex)")
        if let manifest = commit.task.identityManifest { Self.printManifest(manifest) }
        print("args        \(Output.clean(commit.task.argumentsSnapshot))")
        print("status      \(commit.status.rawValue)\(commit.task.cacheable ? "" : " (cache disabled)")")
        if let error = commit.error { print("error       \(Output.clean(error))") }
        if let output = commit.output {
            print("output      \(output.hash.hex) (\(Output.size(output.size)))")
            if output.size <= Output.previewLimit, let preview = Output.preview(try await client.get(commit.hash.hex)) { print("value       \(preview)") }
        }
        print("created     \(Output.isoString(commit.createdAt)) (\(Output.relative(commit.createdAt)))")
        if !commit.tags.isEmpty { print("tags        \(Output.clean(commit.tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")))") }
        print("parent      \(commit.parent?.hex ?? "-")")
        if let source = commit.task.source { print("source\n\(Output.clean(source, multiline: true))") }
    }

    /// At most this many helpers are listed; `show --json` lists them all.
    static let helpersShown = 40

    /// The helpers and packages that went into the identity, one a line.
    static func printManifest(_ manifest: IdentityManifest) {
        let helpers = manifest.helpers.prefix(helpersShown).map { "\($0.kind) \(Output.clean($0.signature))  \(Output.clean($0.file)):\($0.line)" }
        let more = manifest.helpers.count > helpersShown ? ["… and \(manifest.helpers.count - helpersShown) more (show --json lists them all)"] : []
        for (number, line) in (helpers + more).enumerated() { print((number == 0 ? "reaches     " : "            ") + line) }
        if manifest.helpers.isEmpty { print("reaches     no other declaration") }
        for (number, d) in manifest.dependencies.enumerated() {
            print((number == 0 ? "packages    " : "            ") + Output.clean("\(d.package) \(d.versionDescription)"))
        }
        if !manifest.ignoredDependencies.isEmpty { print("ignores     " + Output.clean(manifest.ignoredDependencies.joined(separator: ", "))) }
    }
}

struct GetCommand: StoreCommand {
    static var storeAccess: StoreAccess { .readOnly }
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Write a commit's result: as JSON on a terminal (binary-format results), else its raw bytes to a file or stdout.")
    @ParentCommand var parent: CashetCommand
    @OptionGroup var options: StoreOptions
    @Argument(help: "Commit hash, result hash (`ref.hash`), or a unique prefix of either.") var hash: String
    @Option(name: [.short, .long], help: "Write the raw bytes to this file instead of stdout.") var output: String?
    @Flag(help: "Write the raw bytes even when stdout is a terminal.") var binary = false

    func run(client: Client) async throws {
        // Streams: a large result never has to fit in memory.
        if let output {
            try await client.get(hash, to: output)
        } else if isatty(STDOUT_FILENO) == 1 && !binary {
            // A terminal: refuse bytes that would garble it (and they are small enough to look at).
            let bytes = try await client.get(hash)
            // The binary format describes itself: shown as JSON. Text (JSON or raw serializers) as it is.
            if let json = try? BinaryJSON.render(bytes) {
                print(json)
                return
            }
            if Output.looksBinary(bytes) {
                throw CashetError(.invalidArgument, "the result of \(hash) is binary (\(Output.size(bytes.count))); use -o FILE, a pipe, or --binary to write it to the terminal")
            }
            FileHandle.standardOutput.write(Data(bytes))
        } else {
            try await client.get(hash, toFileDescriptor: STDOUT_FILENO)
        }
    }
}

struct HistoryCommand: StoreCommand {
    static var storeAccess: StoreAccess { .readOnly }
    static let configuration = CommandConfiguration(commandName: "history", abstract: "List every commit of the same call (function + arguments), oldest first.")
    @ParentCommand var parent: CashetCommand
    @OptionGroup var options: StoreOptions
    @Argument(help: "Commit hash or unique prefix.") var hash: String
    @Flag(help: "Print one JSON object per line.") var json = false
    @Flag(help: "Print directly, not through the pager ($CASHET_PAGER, $PAGER or less).") var noPager = false

    func run(client: Client) async throws {
        let history = try await client.history(hash)
        let pager = Pager.start(disabled: noPager || json)
        defer { Pager.finish(pager) }
        try Output.printCommits(history, json: json) { commit in
            "\(commit.hash.shortHex)  \(Output.padded(commit.status.rawValue, 9)) \(Output.isoString(commit.createdAt))  parent \(commit.parent?.shortHex ?? "-")"
        }
    }
}

struct RmCommand: StoreCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete commits (and blobs nothing else references).")
    @ParentCommand var parent: CashetCommand
    @OptionGroup var options: StoreOptions
    @Argument(help: "Commit hashes or unique prefixes.") var hashes: [String]
    @Flag(help: "Report what would be removed; change nothing.") var dryRun = false
    @Flag(help: "Print one JSON object.") var json = false

    func run(client: Client) async throws {
        // Every prefix is resolved first, so a typo in the last one removes nothing.
        var resolved: [ContentHash] = []
        for hash in hashes { resolved.append(try await client.resolve(hash)) }
        let names = resolved.map(\.hex).uniqued()
        let report = try await client.rm(resolved: resolved, dryRun: dryRun)
        if json {
            print(try Output.json(RemovalJSON(dryRun: dryRun, commits: names, report: report)))
        } else {
            print("\(dryRun ? "would remove" : "removed") \(report.commitsRemoved) commit(s) (\(names.map { String($0.prefix(12)) }.joined(separator: ", "))) and \(report.blobsRemoved) blob(s), \(Output.size(report.bytesFreed)) \(dryRun ? "to free" : "freed")")
        }
    }
}

struct GCCommand: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Remove old commits, least recently used ones beyond a size, unreferenced blobs and leftover files.",
        discussion: "Without options, removes commits older than 30 days. --max-size bounds the stored result bytes (`stats`: stored); commits are removed by their last cache hit (or creation), oldest first.")
    @ParentCommand var parent: CashetCommand
    @OptionGroup var options: StoreOptions
    @Option(help: "Remove commits older than this: an age (90m, 12h, 7d, 2w), a date (2026-11-25, 2026-11-25T14:00:00Z) or a number of days (default 30 when --max-size is not given).") var olderThan: String?
    @Option(help: "Then remove least recently used commits until stored results take at most this: 500M, 2GiB, 10GB (K/M/G/T and KiB… are powers of 1024, KB/MB/GB/TB of 1000).") var maxSize: String?
    @Flag(help: "Report what would be removed; change nothing.") var dryRun = false
    @Flag(help: "Print one JSON object.") var json = false

    func checkArguments() throws(CashetError) { _ = try policy() }

    private func policy() throws(CashetError) -> EvictionPolicy {
        let now = Date()
        var cutoff: Date?
        if let olderThan {
            // A bare number is days, as before ages were accepted; anything else as `log --since` reads it.
            if let days = Double(olderThan) {
                guard days >= 0, days.isFinite else { throw CashetError(.invalidArgument, "--older-than must be a non-negative number of days, got \(olderThan)") }
                cutoff = now.addingTimeInterval(-days * 86_400)
            } else {
                cutoff = try HumanInput.date(olderThan, option: "--older-than", now: now)
            }
        } else if maxSize == nil {
            cutoff = now.addingTimeInterval(-30 * 86_400)
        }
        return EvictionPolicy(olderThan: cutoff,
                              maxStoredBytes: try maxSize.map { text throws(CashetError) in try HumanInput.size(text, option: "--max-size") })
    }

    func run(client: Client) async throws {
        let policy = try policy()
        let report = try await Progress.during("gc") { progress in try await client.gc(policy, dryRun: dryRun, progress: progress.update) }
        if json {
            print(try Output.json(RemovalJSON(dryRun: dryRun, report: report)))
            return
        }
        let leftovers = report.leftoverFilesRemoved > 0 ? ", and \(report.leftoverFilesRemoved) leftover file(s) of interrupted writes" : ""
        print("\(dryRun ? "would remove" : "removed") \(report.commitsRemoved) commit(s) and \(report.blobsRemoved) blob(s), \(Output.size(report.bytesFreed)) (\(Output.size(report.storedBytesFreed)) stored) \(dryRun ? "to free" : "freed")\(leftovers)")
    }
}

struct FsckCommand: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "fsck",
        abstract: "Verify every result (SHA-256, size) and reference; exit 3 when damaged.",
        discussion: "With --repair, removes commits whose result cannot be trusted, leftover files and orphan records, and fixes counts; a valid result is never deleted.")
    @ParentCommand var parent: CashetCommand
    @OptionGroup var options: StoreOptions
    @Flag(help: "Remove what cannot be trusted and fix counts.") var repair = false
    @Flag(help: "With --repair: when data.mdb's pages are damaged, rebuild it from every record still readable (records on unreadable pages are lost; the damaged file is kept beside it).") var rebuild = false
    @Flag(help: "Print one JSON object.") var json = false

    func run(opening store: StoreOpener) async throws {
        let report = try await Progress.during(repair ? "fsck --repair" : "fsck") { progress in
            // data.mdb's pages are checked before LMDB reads a table: on damaged ones it could fault.
            guard !PostgresStore.Configuration.isURL(storePath) else { return try await store.client().fsck(repair: repair, progress: progress.update) }
            var report = IntegrityReport()
            report.problems = try LMDBStore.checkStructure(at: storePath)
            if !report.problems.isEmpty {
                // A rebuild keeps only what its own page walk reads, and may bring back commits
                // removed before the damage: the user asks for it.
                guard repair && rebuild else {
                    if repair { report.unrepaired = report.problems }
                    return report
                }
                let rebuilt = try LMDBStore.rebuild(at: storePath)
                report.repairs.append("rebuilt data.mdb from its readable records: kept \(rebuilt.commitsKept) commit(s) and \(rebuilt.blobsKept) blob(s), lost at least \(rebuilt.commitsLost) commit(s); the damaged file is kept as \(storePath)/\(rebuilt.damagedFile) (remove it once satisfied)")
            }
            let checked = try await store.client().fsck(repair: repair, progress: progress.update)
            report.problems += checked.problems
            report.repairs += checked.repairs
            report.unrepaired = checked.unrepaired
            (report.commitsChecked, report.blobsChecked, report.bytesVerified, report.filesChecked) =
                (checked.commitsChecked, checked.blobsChecked, checked.bytesVerified, checked.filesChecked)
            return report
        }
        let damaged = repair ? !report.unrepaired.isEmpty : report.foundDamage
        if json {
            print(try Output.json(FsckJSON(report, damaged: damaged)))
        } else {
            print("checked \(report.commitsChecked) commit(s), \(report.blobsChecked) blob(s) (\(Output.size(report.bytesVerified)) verified), \(report.filesChecked) file(s)")
            for problem in report.problems {
                print("\(problem.kind.isDamage ? "damage " : "garbage") \(Output.padded(problem.kind.rawValue, 24)) \(Output.clean(problem.subject)): \(Output.clean(problem.detail))")
            }
            for repair in report.repairs { print("repaired \(Output.clean(repair))") }
            for problem in report.unrepaired { print("still damaged \(problem.kind.rawValue) \(Output.clean(problem.subject)): \(Output.clean(problem.detail))") }
            if damaged {
                let structural = report.unrepaired.contains { $0.kind == .damagedStructure } || (!repair && report.problems.contains { $0.kind == .damagedStructure })
                print(structural ? "data.mdb's pages are damaged; `cashet fsck --repair --rebuild`, with no other program using the store, rebuilds it from its readable records (what damaged pages held is lost; the damaged file is kept)"
                      : repair ? "the store is still damaged"
                      : "the store is damaged; `cashet fsck --repair` removes what cannot be trusted")
            } else if report.foundUnreadable {
                print("some results could not be read, so were not checked (and a repair leaves them alone); fix the cause and run fsck again")
            } else {
                print(report.problems.isEmpty ? "no problems found" : (repair ? "repaired" : "no damage (leftover files are removed by `cashet fsck --repair`)"))
            }
        }
        if damaged { throw ExitCode(ExitStatus.damaged) }
        if report.foundUnreadable { throw ExitCode(ExitStatus.unusableStore) }
    }
}

struct DiffCommand: StoreCommand {
    static var storeAccess: StoreAccess { .readOnly }
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show what differs between two commits: function source (unified diff), arguments, output, status.")
    @ParentCommand var parent: CashetCommand
    @OptionGroup var options: StoreOptions
    @Argument(help: "The first commit (hash or unique prefix).") var a: String
    @Argument(help: "The second commit (hash or unique prefix).") var b: String
    @Flag(help: "Print one JSON object.") var json = false
    @Flag(help: "Print directly, not through the pager ($CASHET_PAGER, $PAGER or less).") var noPager = false

    func run(client: Client) async throws {
        let diff = try await client.diff(a, b)
        let (old, new) = (diff.old, diff.new)
        if json {
            print(try Output.json(DiffJSON(diff)))
            return
        }
        let pager = Pager.start(disabled: noPager)
        defer { Pager.finish(pager) }
        print("a           \(old.hash.hex)  \(Output.clean(old.task.functionName))  \(Output.isoString(old.createdAt))")
        print("b           \(new.hash.hex)  \(Output.clean(new.task.functionName))  \(Output.isoString(new.createdAt))")
        if diff.isEmpty { print("same function, arguments, output and status") }
        print("function    " + (diff.functionChanged
            ? "changed: \(old.fingerprint.functionHash.shortHex) → \(new.fingerprint.functionHash.shortHex)"
            : "same (\(old.fingerprint.functionHash.shortHex))"))
        let identityChanges = diff.identityChanges
        for change in identityChanges where change.kind != .source { print("  " + Output.clean(change.description)) }
        for line in diff.sourceDiff { print("  " + Output.clean(line)) }
        if diff.functionChanged && identityChanges.isEmpty && old.task.source != nil && old.task.source == new.task.source {
            print("  (same source; the version or the helpers it calls changed)")
        }
        print("args        " + (diff.argumentsChanged ? "changed:\n  - \(Output.clean(old.task.argumentsSnapshot))\n  + \(Output.clean(new.task.argumentsSnapshot))" : "same \(Output.clean(old.task.argumentsSnapshot))"))
        let sizes = "\(old.output.map { Output.size($0.size) } ?? "none") → \(new.output.map { Output.size($0.size) } ?? "none")"
        print("output      " + (diff.outputChanged ? "different (\(sizes))" : "same (\(old.output.map { "\($0.hash.shortHex), \(Output.size($0.size))" } ?? "none"))"))
        print("status      " + (diff.statusChanged ? "\(old.status.rawValue) → \(new.status.rawValue)" : "same (\(old.status.rawValue))"))
    }
}

struct MigrateCommand: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Upgrade the store to schema 2 (a row per call, small results inline).",
        discussion: "Copies every commit, result, function record and hit time into a new data.mdb and renames it over the old one, kept as data.mdb.v1-<time>; killed at any point, the store is the old file or the new one, never in between. Needs the store to itself; a damaged store is refused (run `cashet fsck --repair` first). A store already at schema 2 is left as it is.")
    @ParentCommand var parent: CashetCommand
    @OptionGroup var options: StoreOptions
    @Flag(help: "Print one JSON object.") var json = false

    func run(opening store: StoreOpener) async throws {
        let path = try lmdbStorePath("migrate upgrades LMDB stores; a PostgreSQL store has its own schema")
        let report = try await Progress.during("migrating \(path)") { progress in
            try LMDBStore.migrate(at: path) { done, total in progress.update(done: done, total: total) }
        }
        if json {
            print(try Output.json(MigrationJSON(fromSchema: Int(report.fromSchema), toSchema: 2, commitsMigrated: report.commitsMigrated,
                                                blobsMigrated: report.blobsMigrated, previousFile: report.previousFile)))
        } else if report.previousFile.isEmpty {
            print("the store at \(Output.clean(path)) already has schema \(report.fromSchema); nothing to do")
        } else {
            print("migrated \(report.commitsMigrated) commit(s) from schema \(report.fromSchema) to 2; the schema-1 file is kept as \(Output.clean(path))/\(report.previousFile) (remove it once satisfied)")
        }
    }
}

struct CompactCommand: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Give back the disk space data.mdb keeps after a large gc or rm (LMDB's compacting copy, swapped in atomically).",
        discussion: "LMDB reuses the pages removals free but never shrinks its file. compact writes a copy holding only the pages in use, checks it, syncs it and renames it over data.mdb: killed at any point, the store is the old file or the new one. Needs the store to itself and free disk space for the copy; result files in objects/ are not touched. A PostgreSQL store gives space back with its own VACUUM.")
    @ParentCommand var parent: CashetCommand
    @OptionGroup var options: StoreOptions
    @Flag(help: "Print one JSON object.") var json = false

    func run(opening store: StoreOpener) async throws {
        let path = try lmdbStorePath("compact rewrites LMDB stores; a PostgreSQL store gives space back with VACUUM (FULL)")
        let report = try await Progress.during("compacting \(path)") { _ in try LMDBStore.compact(at: path) }
        if json {
            print(try Output.json(CompactionJSON(bytesBefore: report.bytesBefore, bytesAfter: report.bytesAfter, bytesFreed: report.bytesFreed)))
        } else {
            print("compacted \(Output.clean(path))/data.mdb: \(Output.size(report.bytesBefore)) → \(Output.size(report.bytesAfter)) (\(Output.size(report.bytesFreed)) given back)")
        }
    }
}
