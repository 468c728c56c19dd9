import ArgumentParser
import Cashet
import Foundation

/// `--func`, `--tag`, `--since`: which commits `log` lists and `export` writes.
struct CommitFilterOptions: ParsableArguments {
    @Option(help: "Only commits of this function name.") var `func`: String?
    @Option(name: .customLong("tag"), help: "Only commits with this tag (key=value); repeatable.") var tags: [String] = []
    @Option(help: "Only commits created at or after this time: 2026-11-25, 2026-11-25T14:00:00Z, or an age such as 90m, 12h, 7d, 2w.") var since: String?

    func query(limit: Int? = nil) throws(CashetError) -> CommitQuery {
        try HumanInput.commitQuery(function: self.func, tags: tags, since: since, limit: limit)
    }
}

struct ExportCommand: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write commits (all, or those matching the filters) with their sources and results to one portable archive.")
    static var storeAccess: StoreAccess { .readOnly }
    @ParentCommand var parent: CashetCommand
    @OptionGroup var options: StoreOptions
    @Argument(help: "The archive to write (replaced only once complete).") var file: String
    @OptionGroup var filter: CommitFilterOptions
    @Flag(help: "Print one JSON object.") var json = false

    func checkArguments() throws(CashetError) { _ = try filter.query() }

    func run(client: Client) async throws {
        let query = try filter.query()
        let report = try await Progress.during("export") { progress in
            try await client.exportArchive(to: file, matching: query, progress: progress.update)
        }
        try ArchiveCommands.print(report, verb: "exported", to: file, json: json)
    }
}

struct ImportCommand: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Add the commits of an archive that the store lacks (creating the store if needed); verifies the whole archive first.")
    static var storeAccess: StoreAccess { .create }
    @ParentCommand var parent: CashetCommand
    @OptionGroup var options: StoreOptions
    @Argument(help: "The archive written by `cashet export`.") var file: String
    @Option(help: "Refuse an archive holding a result larger than SIZE (bytes, or K/M/G/T, KiB…, KB…).")
    var maxResultSize = "4GiB"
    @Flag(help: "Print one JSON object.") var json = false

    func checkArguments() throws(CashetError) { _ = try resultLimit() }

    private func resultLimit() throws(CashetError) -> Int { try HumanInput.size(maxResultSize, option: "--max-result-size") }

    func run(opening store: StoreOpener) async throws {
        let limit = try resultLimit()
        // The archive is verified whole before the store is opened (or created).
        let report = try await Progress.during("import") { progress in
            let archive = try ArchiveFile.open(file, maxResultSize: limit) { read, total in progress.update(done: read, total: 2 * total) }
            return try await store.client().importArchive(archive) { read, total in progress.update(done: total + read, total: 2 * total) }
        }
        try ArchiveCommands.print(report, verb: "imported", to: file, json: json)
    }
}

enum ArchiveCommands {
    static func print(_ report: ArchiveReport, verb: String, to file: String, json: Bool) throws(CashetError) {
        if json {
            Swift.print(try Output.json(ArchiveJSON(file: file, commits: report.commits, commitsSkipped: report.commitsSkipped,
                                                    blobs: report.blobs, blobBytes: report.blobBytes)))
            return
        }
        let skipped = report.commitsSkipped > 0 ? " (\(report.commitsSkipped) already present)" : ""
        Swift.print("\(verb) \(report.commits) commit(s)\(skipped) and \(report.blobs) result(s), \(Output.size(report.blobBytes)), \(verb == "exported" ? "to" : "from") \(file)")
    }
}
