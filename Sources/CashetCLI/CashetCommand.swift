import ArgumentParser
import Cashet
import Foundation

@main
struct CashetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cashet",
        abstract: "Inspect and clean up a cashet store: a content-addressable compute cache with git semantics.",
        subcommands: [LogCommand.self, ShowCommand.self, GetCommand.self, DiffCommand.self, HistoryCommand.self, RmCommand.self, GCCommand.self, StatsCommand.self, FsckCommand.self]
    )

    @OptionGroup var store: StoreOptions
}

/// `--store DIR`, accepted before or after the subcommand; then `CASHET_DIR`; then `.cashet`.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "The store directory (default: $CASHET_DIR or .cashet).")
    var store: String?
}

/// What every subcommand shares: finding the store and turning cashet errors into exit codes.
protocol StoreCommand: AsyncParsableCommand {
    var parent: CashetCommand { get }
    var options: StoreOptions { get }
    func run(client: Client) async throws
}

extension StoreCommand {
    var storePath: String {
        options.store ?? parent.store.store ?? ProcessInfo.processInfo.environment["CASHET_DIR"] ?? ".cashet"
    }

    func run() async throws {
        do {
            // The CLI never creates a store: a wrong --store must not leave one behind.
            var configuration = LMDBStore.Configuration()
            configuration.create = false
            let client = Client(store: try LMDBStore(storePath, configuration: configuration))
            try await run(client: client)
        } catch let error as CashetError {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            throw ExitCode(error.code == .notFound ? 2 : 1)
        }
    }
}
